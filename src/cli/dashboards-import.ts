// The request of OpenSearch Dashboards' saved-objects import API: POST
// <base>/api/saved_objects/_import[?overwrite=true], a multipart form with the NDJSON file in the
// field `file`, and the `osd-xsrf` header Dashboards demands of every write. node:http(s) rather
// than fetch, because a custom CA cannot be given to the global fetch without undici's Agent.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ImportRequest {
  /** Dashboards' base URL, with its base path if it has one (https://host/_dashboards). */
  url: string;
  file: string;
  overwrite?: boolean;
  username?: string;
  password?: string;
  ca?: Buffer;
  rejectUnauthorized?: boolean;
  timeoutMs?: number;
}

export interface ImportAnswer {
  status: number;
  body: unknown;
}

export function importUrl(base: string, overwrite: boolean): URL {
  const u = new URL(base);
  u.username = '';
  u.password = '';
  if (!u.pathname.endsWith('/')) u.pathname += '/';
  const target = new URL('api/saved_objects/_import', u);
  if (overwrite) target.searchParams.set('overwrite', 'true');
  return target;
}

export function multipart(
  field: string,
  filename: string,
  content: Buffer,
): { boundary: string; body: Buffer } {
  const boundary = `----pdaas-audit-${randomBytes(12).toString('hex')}`;
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename.replace(/"/g, '')}"\r\nContent-Type: application/ndjson\r\n\r\n`;
  return {
    boundary,
    body: Buffer.concat([Buffer.from(head), content, Buffer.from(`\r\n--${boundary}--\r\n`)]),
  };
}

export function importSavedObjects(req: ImportRequest): Promise<ImportAnswer> {
  const url = importUrl(req.url, req.overwrite ?? false);
  const { boundary, body } = multipart('file', basename(req.file), readFileSync(req.file));
  const headers: Record<string, string | number> = {
    'content-type': `multipart/form-data; boundary=${boundary}`,
    'content-length': body.length,
    'osd-xsrf': 'true',
    accept: 'application/json',
  };
  if (req.username !== undefined)
    headers.authorization = `Basic ${Buffer.from(`${req.username}:${req.password ?? ''}`).toString('base64')}`;
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const r = send(
      url,
      {
        method: 'POST',
        headers,
        timeout: req.timeoutMs ?? 30_000,
        ...(url.protocol === 'https:' && {
          rejectUnauthorized: req.rejectUnauthorized ?? true,
          ...(req.ca !== undefined && { ca: req.ca }),
        }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {}
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
        res.on('error', reject);
      },
    );
    r.on('timeout', () =>
      r.destroy(new Error(`no answer from ${url.origin} within ${req.timeoutMs ?? 30_000} ms`)),
    );
    r.on('error', reject);
    r.end(body);
  });
}

/**
 * A file shipped in the package, by its path from the package root: found by walking up from this
 * module, so it resolves the same from src/ (tests) and dist/ (the installed bin).
 */
export function packageFile(relativePath: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && /"name":\s*"@pdaas\/audit"/.test(readFileSync(manifest, 'utf8')))
      return join(dir, relativePath);
    const up = dirname(dir);
    if (up === dir) return join(dirname(fileURLToPath(import.meta.url)), '../..', relativePath);
    dir = up;
  }
}
