#!/usr/bin/env node
// pdaas-audit: the deployment guide's curl steps as commands. Connection settings come from the
// same AUDIT_* variables as the library (use an admin account for install commands).
import { parseArgs } from 'node:util';
import { resolveConfig } from '../config.js';
import { AuditError } from '../errors.js';
import { createClient } from '../opensearch/client.js';
import { getLifecyclePolicy, lifecyclePolicy, putLifecyclePolicy } from '../opensearch/lifecycle.js';
import { putWriterRole, writerRole } from '../opensearch/security.js';
import { indexTemplate, templateName } from '../opensearch/template.js';
import { createReader, type EventFilter } from '../reader.js';
import { readSpool } from '../spool/reader.js';

const usage = `usage: pdaas-audit <command> [options]
  health                       cluster health; exit 1 unless green or yellow
  template show|install        the index template for AUDIT_INDEX_PREFIX-*
  policy show|install          the ISM lifecycle policy (hot 30 d, warm, cold read-only, delete at 90 d)
  role show|install            the least-privilege audit_writer role
  search --org ORG [filters]   events of one organization, newest first, one JSON per line
  count --org ORG [filters]    how many events match
  spool show [--limit N]       events waiting in AUDIT_SPOOL_DIR (the embedded default store)
filters: --from TIME --to TIME --actor ID --action NAME --target T --status CODE --outcome success|failure
         --size N (search page size, default 20) --after CURSOR
connection: AUDIT_OPENSEARCH_HOST, _PORT, _USE_SSL, _VERIFY_CERTS, _CA_CERTS, _USERNAME, _PASSWORD`;

function print(value: unknown): void {
  process.stdout.write(`${typeof value === 'string' ? value : JSON.stringify(value, null, 2)}\n`);
}

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      org: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      actor: { type: 'string' },
      action: { type: 'string' },
      target: { type: 'string' },
      status: { type: 'string' },
      outcome: { type: 'string' },
      size: { type: 'string' },
      after: { type: 'string' },
      limit: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, sub] = positionals;
  if (values.help || !command) {
    print(usage);
    return command || values.help ? 0 : 2;
  }
  const config = resolveConfig();
  const prefix = config.indexPrefix;

  if (command === 'spool') {
    const limit = Number(values.limit ?? 20);
    let shown = 0;
    let total = 0;
    for await (const segment of readSpool(config.spoolDir)) {
      total += segment.documents.length;
      for (const doc of segment.documents) if (shown++ < limit) print(JSON.stringify(doc.source));
      if (segment.corruptTail) print(`# ${segment.file}: torn or corrupt tail`);
    }
    print(`# ${total} events in ${config.spoolDir}`);
    return 0;
  }

  if (sub === 'show' && (command === 'template' || command === 'policy' || command === 'role')) {
    const body =
      command === 'template'
        ? indexTemplate({ prefix, shards: config.indexShards, replicas: config.indexReplicas })
        : command === 'policy'
          ? lifecyclePolicy({ prefix })
          : writerRole(prefix);
    print(body);
    return 0;
  }

  if (!config.opensearch.url)
    throw new AuditError('AUDIT_ERR_INVALID_OPTION', 'set AUDIT_OPENSEARCH_HOST for this command');
  const client = createClient(config.opensearch);
  try {
    switch (`${command} ${sub ?? ''}`.trim()) {
      case 'health': {
        const res = await client.cluster.health();
        print(res.body);
        return res.body.status === 'red' ? 1 : 0;
      }
      case 'template install':
        await client.indices.putIndexTemplate({
          name: templateName(prefix),
          body: indexTemplate({
            prefix,
            shards: config.indexShards,
            replicas: config.indexReplicas,
          }) as never,
        });
        print(`installed index template ${templateName(prefix)} for ${prefix}-*`);
        return 0;
      case 'policy install':
        await putLifecyclePolicy(client, { prefix });
        print((await getLifecyclePolicy(client, prefix)) ?? 'not found after install');
        return 0;
      case 'role install':
        print(await putWriterRole(client, { prefix }));
        return 0;
      case 'search':
      case 'count': {
        if (!values.org) throw new AuditError('AUDIT_ERR_INVALID_OPTION', `${command} needs --org`);
        const filter: EventFilter = {
          ...(values.from !== undefined && { from: values.from }),
          ...(values.to !== undefined && { to: values.to }),
          ...(values.actor !== undefined && { actorId: values.actor }),
          ...(values.action !== undefined && { action: values.action }),
          ...(values.target !== undefined && { target: values.target }),
          ...(values.status !== undefined && { status: Number(values.status) }),
          ...(values.outcome !== undefined && { outcome: values.outcome as 'success' | 'failure' }),
        };
        const reader = createReader({ organizationId: values.org, indexPrefix: prefix, client });
        if (command === 'count') {
          print(String(await reader.count(filter)));
          return 0;
        }
        const page = await reader.search(filter, {
          size: Number(values.size ?? 20),
          ...(values.after !== undefined && { after: values.after }),
        });
        for (const e of page.events) print(JSON.stringify(e));
        if (page.next) print(`# next page: --after ${page.next}`);
        return 0;
      }
      default:
        process.stderr.write(`unknown command '${positionals.join(' ')}'\n${usage}\n`);
        return 2;
    }
  } finally {
    await client.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error & { code?: string }) => {
    process.stderr.write(`pdaas-audit: ${err.code ? `${err.code}: ` : ''}${err.message}\n`);
    process.exitCode = 1;
  },
);
