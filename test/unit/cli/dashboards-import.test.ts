// `pdaas-audit dashboards import` against a small node:http server standing in for OpenSearch
// Dashboards, which cannot run on this machine. This is an honest test of OUR request (method,
// path, query, headers, auth, multipart body), not of Dashboards' answer: the server parses the
// multipart form itself and answers the way the saved-objects import API documents.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_FILE } from '../../../src/cli/commands/dashboards.js';
import { packageFile } from '../../../src/cli/dashboards-import.js';
import type { Io } from '../../../src/cli/output.js';
import { run } from '../../../src/cli/run.js';

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  parts: { name: string; filename: string; contentType: string; content: string }[];
}

/** Splits a multipart/form-data body into its parts (enough for our one-file form). */
function parseMultipart(body: Buffer, contentType: string): Received['parts'] {
  const boundary = /boundary=(.+)$/.exec(contentType)?.[1];
  if (!boundary) throw new Error(`no boundary in ${contentType}`);
  const text = body.toString('latin1');
  expect(text.endsWith(`\r\n--${boundary}--\r\n`)).toBe(true);
  return text
    .split(`--${boundary}`)
    .slice(1, -1)
    .map((raw) => {
      const [head, ...rest] = raw.slice(2).split('\r\n\r\n');
      const content = rest.join('\r\n\r\n').replace(/\r\n$/, '');
      return {
        name: /name="([^"]+)"/.exec(head as string)?.[1] ?? '',
        filename: /filename="([^"]+)"/.exec(head as string)?.[1] ?? '',
        contentType: /Content-Type: (.+)/i.exec(head as string)?.[1] ?? '',
        content: Buffer.from(content, 'latin1').toString('utf8'),
      };
    });
}

const received: Received[] = [];
let answer: { status: number; body: unknown } = { status: 200, body: {} };
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    received.push({
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      parts: parseMultipart(Buffer.concat(chunks), String(req.headers['content-type'])),
    });
    res.writeHead(answer.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(answer.body));
  });
});
let base = '';

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function cli(args: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io = {
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => err.push(s) },
    stdin: { isTTY: false },
    env,
  } as unknown as Io;
  const code = await run(args, io);
  return { code, stdout: out.join(''), stderr: err.join('') };
}

describe('dashboards import', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pdaas-osd-'));
  const file = join(dir, 'health.ndjson');
  const ndjson =
    '{"type":"index-pattern","id":"p1","attributes":{"title":"audit-*"}}\n{"type":"dashboard","id":"d1","attributes":{"title":"Audit – System Health"}}\n';
  writeFileSync(file, ndjson);

  it('POSTs the file as the multipart field "file" with osd-xsrf and basic auth from the AUDIT_* variables', async () => {
    received.length = 0;
    answer = { status: 200, body: { success: true, successCount: 2 } };
    const password = 's3cret-Pa55';
    const r = await cli(
      ['dashboards', 'import', '--url', `${base}/_dashboards`, '--file', file, '--overwrite'],
      {
        AUDIT_OPENSEARCH_USERNAME: 'admin',
        AUDIT_OPENSEARCH_PASSWORD: password,
      },
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`imported 2 saved objects from ${file} into ${base}\n`);
    const [req] = received;
    expect(req?.method).toBe('POST');
    expect(req?.url).toBe('/_dashboards/api/saved_objects/_import?overwrite=true');
    expect(req?.headers['osd-xsrf']).toBe('true');
    expect(req?.headers.authorization).toBe(`Basic ${Buffer.from(`admin:${password}`).toString('base64')}`);
    expect(req?.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(req?.parts).toEqual([
      { name: 'file', filename: 'health.ndjson', contentType: 'application/ndjson', content: ndjson },
    ]);
    expect(r.stdout + r.stderr).not.toContain(password);
  });

  it('without --overwrite: no query, flag credentials win, conflicts are listed and exit 1', async () => {
    received.length = 0;
    answer = {
      status: 200,
      body: {
        success: false,
        successCount: 1,
        errors: [{ id: 'd1', type: 'dashboard', title: 'Audit', error: { type: 'conflict' } }],
      },
    };
    const r = await cli(
      ['dashboards', 'import', '--url', base, '--file', file, '--username', 'ops', '--password', 'flag-pass'],
      {
        AUDIT_OPENSEARCH_USERNAME: 'admin',
      },
    );
    expect(r.code).toBe(1);
    expect(received[0]?.url).toBe('/api/saved_objects/_import');
    expect(received[0]?.headers.authorization).toBe(
      `Basic ${Buffer.from('ops:flag-pass').toString('base64')}`,
    );
    expect(r.stdout).toContain('dashboard d1 (Audit): conflict');
    expect(r.stderr).toContain('--overwrite');
  });

  it('reports an HTTP refusal (exit 1) and usage mistakes (exit 2)', async () => {
    answer = { status: 401, body: { statusCode: 401, error: 'Unauthorized' } };
    const denied = await cli(['dashboards', 'import', '--url', base, '--file', file]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('answered 401');
    expect((await cli(['dashboards', 'import', '--file', file])).code).toBe(2);
    expect((await cli(['dashboards', 'import', '--url', 'ftp://x', '--file', file])).code).toBe(2);
    expect(
      (await cli(['dashboards', 'import', '--url', base, '--file', join(dir, 'missing.ndjson')])).code,
    ).toBe(2);
    expect((await cli(['dashboards', 'export', '--url', base])).code).toBe(2);
  });

  it('finds the dashboard the package ships, from the package root', () => {
    const path = packageFile(DASHBOARD_FILE);
    expect(path).toBe(new URL(`../../../${DASHBOARD_FILE}`, import.meta.url).pathname);
    expect(readFileSync(path, 'utf8').length).toBeGreaterThan(0);
  });
});
