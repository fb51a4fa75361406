// `pdaas-audit template|policy|role show|install`: one setup item at a time. `show` prints the
// payload without connecting; `install` runs that item's idempotent installer and, unlike setup,
// fails (exit 1, coded) when the plugin it needs is not there: you asked for exactly that item.
import { AuditError } from '../../errors.js';
import { lifecyclePolicy } from '../../opensearch/lifecycle.js';
import { writerRole } from '../../opensearch/security.js';
import { type ItemResult, syncPolicy, syncRole, syncTemplate } from '../../opensearch/setup.js';
import { indexTemplate } from '../../opensearch/template.js';
import { EXIT, EXIT_HELP, parse, subcommand } from '../args.js';
import { type Command, loadConfig, withClient } from '../context.js';
import { installFlags, installHelp, installSettings } from '../install-options.js';
import { itemLine } from '../items.js';

type Kind = 'template' | 'policy' | 'role';

const short: Record<Kind, string> = {
  template: 'the index template',
  policy: 'the ISM lifecycle policy',
  role: 'the audit_writer role',
};

const what: Record<Kind, string> = {
  template: 'the index template for <prefix>-* (shards, replicas, 30s refresh, best_compression, mappings)',
  policy: 'the ISM lifecycle policy: hot, warm, cold read-only, delete',
  role: 'the least-privilege audit_writer role (security plugin)',
};

function payloadCommand(kind: Kind): Command {
  return {
    summary: `show|install ${short[kind]} alone`,
    help: `usage: pdaas-audit ${kind} show|install [options]

  show     print ${what[kind]} as JSON, without connecting
  install  install it if missing or different (as setup does for this item); exit 1 with
           ${kind === 'policy' ? 'AUDIT_ERR_ISM_UNAVAILABLE without the ISM plugin' : kind === 'role' ? 'AUDIT_ERR_SECURITY_UNAVAILABLE without the security plugin' : 'AUDIT_ERR_OPENSEARCH if OpenSearch refuses it'}

options:
${installHelp}${kind === 'role' ? '\n  --role NAME          role name (default audit_writer)' : ''}
  --json               install: the item as JSON

${EXIT_HELP}`,

    async run(argv, out) {
      const { values, positionals } = parse(argv, { ...installFlags, role: { type: 'string' } }, 1);
      const sub = subcommand(positionals, ['show', 'install']);
      const config = loadConfig(out);
      const { template, policy } = installSettings(values, config);
      const name = values.role ?? 'audit_writer';
      if (sub === 'show') {
        out.json(
          kind === 'template'
            ? indexTemplate(template)
            : kind === 'policy'
              ? lifecyclePolicy(policy)
              : writerRole(config.indexPrefix),
        );
        return EXIT.OK;
      }
      const item: ItemResult = await withClient(config, `${kind} install`, (client) =>
        kind === 'template'
          ? syncTemplate(client, template)
          : kind === 'policy'
            ? syncPolicy(client, policy)
            : syncRole(client, { prefix: config.indexPrefix, name }),
      );
      if (item.state === 'skipped' && item.code)
        throw new AuditError(item.code, item.detail ?? 'unavailable');
      if (values.json) out.json(item);
      else out.out(itemLine(item));
      return item.state === 'failed' ? EXIT.FAILED : EXIT.OK;
    },
  };
}

export const template = payloadCommand('template');
export const policy = payloadCommand('policy');
export const role = payloadCommand('role');
