// `pdaas-audit intents --org ORG`: the durable routes' intents that no completion names, the
// requests whose handler started and never finished (the process died inside it).
import { NO_ORGANIZATION } from '../../event.js';
import { EXIT, EXIT_HELP, integer, parse, time } from '../args.js';
import { type Command, loadConfig, withClient } from '../context.js';
import { eventLine, noWarn, org, readerOf } from './events.js';

export const intents: Command = {
  summary: "durable routes' intents without a completion (a handler that never finished)",
  help: `usage: pdaas-audit intents --org ORG [--from TIME] [--to TIME] [--limit N] [--json]

Lists the intents (phase received) of durable routes (AUDIT_DURABLE_PATHS, auditAs({ durable:
true })) of one organization that no completion names, oldest first: requests whose handler ran
and never answered, such as a process killed inside it. A completion shows once its index
refreshes (refresh_interval, 30 s in the template), so a request that just finished may be listed
until then.

  --org ORG          the organization (required); ${NO_ORGANIZATION}: events stored without one
  --from TIME        intents from this time on: ISO or ago (15m, 24h, 7d)
  --to TIME          intents before this time
  --limit N          at most N intents, 1 to 100000 (default 1000)
  --json             {"organization", "intents": [...]}

Text output: one intent per line (event id, request id, time, actor, action, target, request).
${EXIT_HELP}`,

  async run(argv, out) {
    const { values } = parse(argv, {
      org: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      limit: { type: 'string' },
    });
    const organizationId = org(values, 'intents');
    const now = Date.now();
    const filter = {
      ...(values.from !== undefined && { from: time('from', values.from, now) }),
      ...(values.to !== undefined && { to: time('to', values.to, now) }),
    };
    const limit = values.limit === undefined ? 1000 : integer('limit', values.limit, 1, 100_000);
    const config = loadConfig(out);
    const found = await withClient(
      config,
      'intents',
      (client) => readerOf(config, organizationId, client).unfinishedIntents(filter, { limit }),
      noWarn,
    );
    if (values.json) out.json({ organization: organizationId, intents: found });
    else {
      for (const e of found)
        out.out(`${String(e.event_id)}  ${String(e.request_id ?? '-')}  ${eventLine(e)}`);
      out.err(`${found.length} unfinished intent${found.length === 1 ? '' : 's'}`);
    }
    return EXIT.OK;
  },
};
