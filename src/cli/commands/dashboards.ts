// `pdaas-audit dashboards import`: imports the package's Audit System Health dashboard (ops/opensearch-dashboards/audit-system-health.ndjson).
import { existsSync, readFileSync } from 'node:fs';
import { AuditError } from '../../errors.js';
import { EXIT, EXIT_HELP, parse, subcommand, usageError } from '../args.js';
import type { Command } from '../context.js';
import { loadConfig } from '../context.js';
import { importSavedObjects, importUrl, packageFile } from '../dashboards-import.js';

export const DASHBOARD_FILE = 'ops/opensearch-dashboards/audit-system-health.ndjson';

interface ImportResult {
  success?: boolean;
  successCount?: number;
  errors?: { id: string; type: string; title?: string; error?: { type?: string; message?: string } }[];
}

export const dashboards: Command = {
  summary: 'import the Audit System Health dashboard into OpenSearch Dashboards',
  help: `usage: pdaas-audit dashboards import --url DASHBOARDS_URL [--file F] [--overwrite]
       [--username U] [--password P] [--ca FILE] [--json]

POSTs the NDJSON file to <url>/api/saved_objects/_import (multipart field "file", header
osd-xsrf: true). Without --overwrite, objects that already exist are reported as conflicts.

options:
  --url URL        OpenSearch Dashboards, with its base path if any (https://host:5601,
                   https://host/_dashboards)
  --file F         saved objects, NDJSON (default: the package's ${DASHBOARD_FILE})
  --overwrite      replace saved objects with the same ids
  --username U     basic auth (default AUDIT_OPENSEARCH_USERNAME)
  --password P     basic auth (default AUDIT_OPENSEARCH_PASSWORD; flags show in ps)
  --ca FILE        CA bundle for https (default AUDIT_OPENSEARCH_CA_CERTS); verification follows
                   AUDIT_OPENSEARCH_VERIFY_CERTS
  --json           Dashboards' answer: {"success", "successCount", "errors"?}

${EXIT_HELP}`,

  async run(argv, out) {
    const { values, positionals } = parse(
      argv,
      {
        url: { type: 'string' },
        file: { type: 'string' },
        overwrite: { type: 'boolean' },
        username: { type: 'string' },
        password: { type: 'string' },
        ca: { type: 'string' },
      },
      1,
    );
    subcommand(positionals, ['import']);
    out.addSecret(values.password);
    if (values.url === undefined) throw usageError('dashboards import needs --url DASHBOARDS_URL');
    let target: URL;
    try {
      target = importUrl(values.url, values.overwrite ?? false);
    } catch {
      throw usageError(`--url must be an http(s) URL, got '${values.url}'`);
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:')
      throw usageError(`--url must be an http(s) URL, got '${values.url}'`);
    const given = new URL(values.url);
    out.addSecret(decodeURIComponent(given.password));
    const file = values.file ?? packageFile(DASHBOARD_FILE);
    if (!existsSync(file)) throw usageError(`--file ${file}: no such file`);
    const config = loadConfig(out);
    const username =
      values.username ?? (given.username ? decodeURIComponent(given.username) : config.opensearch.username);
    const password =
      values.password ?? (given.password ? decodeURIComponent(given.password) : config.opensearch.password);
    const caFile = values.ca ?? config.opensearch.caCerts;
    if (caFile !== undefined && !existsSync(caFile)) throw usageError(`--ca ${caFile}: no such file`);
    let answer: Awaited<ReturnType<typeof importSavedObjects>>;
    try {
      answer = await importSavedObjects({
        url: values.url,
        file,
        overwrite: values.overwrite ?? false,
        ...(username !== undefined && { username, password }),
        ...(caFile !== undefined && { ca: readFileSync(caFile) }),
        rejectUnauthorized: config.opensearch.verifyCerts,
        timeoutMs: config.opensearch.timeoutSeconds * 1000,
      });
    } catch (err) {
      throw new AuditError('AUDIT_ERR_OPENSEARCH', `POST ${target.href} failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const body = answer.body as ImportResult;
    const ok = answer.status === 200 && body?.success === true;
    if (values.json)
      out.json(typeof answer.body === 'object' ? answer.body : { status: answer.status, body: answer.body });
    else if (ok)
      out.out(`imported ${body.successCount ?? 0} saved objects from ${file} into ${target.origin}`);
    else if (answer.status === 200) {
      out.out(`imported ${body.successCount ?? 0} saved objects; ${body.errors?.length ?? 0} failed:`);
      for (const e of body.errors ?? [])
        out.out(
          `  ${e.type} ${e.id}${e.title ? ` (${e.title})` : ''}: ${e.error?.type ?? ''} ${e.error?.message ?? ''}`.trimEnd(),
        );
      if (body.errors?.some((e) => e.error?.type === 'conflict'))
        out.err('objects exist already: run again with --overwrite to replace them');
    } else
      out.err(
        `pdaas-audit: POST ${target.href} answered ${answer.status}: ${JSON.stringify(answer.body).slice(0, 500)}`,
      );
    return ok ? EXIT.OK : EXIT.FAILED;
  },
};
