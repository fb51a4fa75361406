// `pdaas-audit setup`: the index template, the lifecycle policy, the writer role and the writer
// user, installed by one idempotent command (a second run changes nothing and says so).
import { type ItemResult, syncPolicy, syncRole, syncTemplate, syncUser } from '../../opensearch/setup.js';
import { EXIT, EXIT_HELP, parse } from '../args.js';
import { type Command, loadConfig, withClient } from '../context.js';
import { installFlags, installHelp, installSettings } from '../install-options.js';
import { itemLine, summaryLine } from '../items.js';

const flags = {
  ...installFlags,
  'writer-password': { type: 'string' },
  'writer-user': { type: 'string' },
  role: { type: 'string' },
  'require-ism': { type: 'boolean' },
  'dry-run': { type: 'boolean' },
} as const;

export const setup: Command = {
  summary: 'install the index template, ISM lifecycle policy, writer role and user (idempotent)',
  help: `usage: pdaas-audit setup [options]

Installs, with an admin account (AUDIT_OPENSEARCH_USERNAME/PASSWORD):
  template  <prefix>-template for <prefix>-*: the event mappings, shards, replicas,
            refresh_interval 30s, index.codec best_compression
  policy    <prefix>-lifecycle (ISM): hot → warm → cold read-only → delete, attached to new
            <prefix>-* indices by its ism_template
  role      audit_writer, the least-privilege writer role (only where the security plugin runs)
  user      audit_writer with that role, when --writer-password or AUDIT_WRITER_PASSWORD is set
Each item is compared with what is installed and written only when it differs; a second run
prints "<item> <name>: unchanged" for each. A cluster without the ISM plugin gets the policy
"skipped (AUDIT_ERR_ISM_UNAVAILABLE ...)": retention is then not enforced, and setup still exits 0
unless --require-ism is given. Without the security plugin, role and user are skipped.

options:
${installHelp}
  --writer-password P  password of the writer user (prefer AUDIT_WRITER_PASSWORD: flags show
                       in ps)
  --writer-user NAME   the writer user (default audit_writer)
  --role NAME          the writer role (default audit_writer)
  --require-ism        exit 1 when the lifecycle policy cannot be installed
  --dry-run            compare only: print "would create" / "would update"
  --json               {"ok", "dryRun", "items": [{"kind", "name", "state", "changes"?,
                       "detail"?, "code"?}]}

${EXIT_HELP}`,

  async run(argv, out) {
    const { values } = parse(argv, flags);
    const config = loadConfig(out);
    const { template, policy } = installSettings(values, config);
    const password = values['writer-password'] ?? out.io.env.AUDIT_WRITER_PASSWORD;
    out.addSecret(password);
    const roleName = values.role ?? 'audit_writer';
    const userName = values['writer-user'] ?? 'audit_writer';
    const sync = { dryRun: values['dry-run'] ?? false };
    return withClient(config, 'setup', async (client) => {
      const items: ItemResult[] = [
        await syncTemplate(client, template, sync),
        await syncPolicy(client, policy, sync),
      ];
      const role = await syncRole(client, { prefix: config.indexPrefix, name: roleName }, sync);
      items.push(role);
      if (password !== undefined) {
        items.push(
          role.state === 'skipped'
            ? { ...role, kind: 'user', name: userName }
            : await syncUser(client, config.opensearch, { name: userName, password, role: roleName }, sync),
        );
      }
      const failing = items.filter(
        (i) => i.state === 'failed' || (values['require-ism'] && i.code === 'AUDIT_ERR_ISM_UNAVAILABLE'),
      );
      if (values.json) out.json({ ok: failing.length === 0, dryRun: sync.dryRun, items });
      else {
        for (const i of items) out.out(itemLine(i));
        out.out(`setup${sync.dryRun ? ' (dry run)' : ''}: ${summaryLine(items)}`);
        if (failing.some((i) => i.state === 'skipped'))
          out.err('setup: the lifecycle policy is required (--require-ism) and could not be installed');
      }
      return failing.length === 0 ? EXIT.OK : EXIT.FAILED;
    });
  },
};
