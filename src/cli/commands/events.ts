// `pdaas-audit count|search|tail --org ORG`: reading one organization's events through the
// tenant-scoped reader, which builds every query itself (the organization filter first), so no
// flag can widen what is read.
import type { AuditConfig } from '../../config/options.js';
import { NO_ORGANIZATION } from '../../event.js';
import { createReader, type EventFilter } from '../../reader/reader.js';
import { duration, EXIT, EXIT_HELP, integer, parse, statusFilter, time, usageError } from '../args.js';
import { type Command, loadConfig, withClient } from '../context.js';

const filterFlags = {
  org: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  actor: { type: 'string' },
  action: { type: 'string' },
  target: { type: 'string' },
  status: { type: 'string' },
  outcome: { type: 'string' },
} as const;

const filterHelp = `  --org ORG          the organization (required); ${NO_ORGANIZATION}: events stored without one
  --from TIME        from this time on: ISO (2026-11-01, 2026-11-01T10:00:00Z) or ago (15m, 24h, 7d)
  --to TIME          before this time (same forms)
  --actor ID         actor_id
  --action NAME      action, e.g. policies.update
  --target T         target, e.g. policy:p-1
  --status S         response status: 404, 500-599 or 5xx
  --outcome O        success or failure`;

type FilterValues = { [K in keyof typeof filterFlags]?: string };

function filterOf(values: FilterValues, now = Date.now()): EventFilter {
  if (values.outcome !== undefined && values.outcome !== 'success' && values.outcome !== 'failure')
    throw usageError(`--outcome must be success or failure, got '${values.outcome}'`);
  return {
    ...(values.from !== undefined && { from: time('from', values.from, now) }),
    ...(values.to !== undefined && { to: time('to', values.to, now) }),
    ...(values.actor !== undefined && { actorId: values.actor }),
    ...(values.action !== undefined && { action: values.action }),
    ...(values.target !== undefined && { target: values.target }),
    ...(values.status !== undefined && { status: statusFilter(values.status) }),
    ...(values.outcome !== undefined && { outcome: values.outcome as 'success' | 'failure' }),
  };
}

export function org(values: FilterValues, command: string): string {
  if (values.org === undefined) throw usageError(`${command} needs --org ORG`);
  if (values.org.trim() === '')
    throw usageError(
      `--org is empty: name an organization, or ${NO_ORGANIZATION} for the events stored without one`,
    );
  if (values.org === NO_ORGANIZATION)
    process.stderr.write(
      `note: ${NO_ORGANIZATION} holds the events of requests no organization was known for; they may concern any tenant\n`,
    );
  return values.org;
}

/** One event as a line for people: time, actor, action, target, request, status, outcome. */
export function eventLine(e: Record<string, unknown>): string {
  const v = (k: string) => (e[k] === undefined || e[k] === null ? '-' : String(e[k]));
  return `${v('occurred_at')}  ${v('actor_id')}  ${v('action')}  ${v('target')}  ${v('request_method')} ${v('request_path')}  ${v('response_status_code')} ${v('outcome')}`;
}

/** createReader warns about unverified TLS itself. */
export const noWarn = { warn: false };

export function readerOf(
  config: AuditConfig,
  organizationId: string,
  client: Parameters<typeof createReader>[0]['client'],
) {
  return createReader({ organizationId, indexPrefix: config.indexPrefix, client });
}

export const count: Command = {
  summary: 'how many events of one organization match the filters',
  help: `usage: pdaas-audit count --org ORG [filters]

filters:
${filterHelp}
  --json             {"organization", "count"}

Text output is the number alone.
${EXIT_HELP}`,

  async run(argv, out) {
    const { values } = parse(argv, filterFlags);
    const organizationId = org(values, 'count');
    const filter = filterOf(values);
    const config = loadConfig(out);
    const n = await withClient(
      config,
      'count',
      (client) => readerOf(config, organizationId, client).count(filter),
      noWarn,
    );
    if (values.json) out.json({ organization: organizationId, count: n });
    else out.out(String(n));
    return EXIT.OK;
  },
};

export const search: Command = {
  summary: 'events of one organization, newest first, paged with --after',
  help: `usage: pdaas-audit search --org ORG [filters] [--size N] [--after CURSOR]

filters:
${filterHelp}
  --size N           events per page, 1 to 1000 (default 20)
  --after CURSOR     the next page: the cursor the previous page printed
  --json             {"events": [...], "next": CURSOR or null}

Text output: one event per line (time, actor, action, target, request, status, outcome), then
"# next page: --after CURSOR" when there is more.
${EXIT_HELP}`,

  async run(argv, out) {
    const { values } = parse(argv, { ...filterFlags, size: { type: 'string' }, after: { type: 'string' } });
    const organizationId = org(values, 'search');
    const filter = filterOf(values);
    const size = values.size === undefined ? 20 : integer('size', values.size, 1, 1000);
    const config = loadConfig(out);
    const page = await withClient(
      config,
      'search',
      (client) =>
        readerOf(config, organizationId, client).search(filter, {
          size,
          ...(values.after !== undefined && { after: values.after }),
        }),
      noWarn,
    );
    if (values.json) out.json({ events: page.events, next: page.next ?? null });
    else {
      for (const e of page.events) out.out(eventLine(e));
      if (page.next) out.out(`# next page: --after ${page.next}`);
    }
    return EXIT.OK;
  },
};

export const tail: Command = {
  summary: 'follow new events of one organization until Ctrl-C',
  help: `usage: pdaas-audit tail --org ORG [filters] [--interval 2s] [--limit N]

Prints events as they arrive, oldest first, polling every --interval, until Ctrl-C (SIGINT) or
SIGTERM, or --limit events. Events show once their index refreshes (the template's
refresh_interval is 30s).

filters:
${filterHelp.replace(/\n {2}--to TIME[^\n]*/, '').replace(/--from TIME {8}[^\n]*/, '--from TIME        where to start: ISO or ago (15m, 24h); default now')}
  --interval D       poll interval: 2s, 500ms (default 2s, at least 100ms)
  --limit N          stop after N events
  --json             one JSON event per line

exit codes: 0 stopped by Ctrl-C, SIGTERM or --limit, 1 OpenSearch failed, 2 usage error`,

  async run(argv, out) {
    const { values } = parse(argv, {
      ...filterFlags,
      interval: { type: 'string' },
      limit: { type: 'string' },
    });
    const organizationId = org(values, 'tail');
    if (values.to !== undefined) throw usageError('tail follows new events: --to does not apply');
    const { from: since = new Date().toISOString(), ...filter } = filterOf(values);
    const pollMs = values.interval === undefined ? 2000 : duration('interval', values.interval, 100);
    const limit =
      values.limit === undefined ? Number.POSITIVE_INFINITY : integer('limit', values.limit, 1, 1e9);
    const config = loadConfig(out);
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      await withClient(
        config,
        'tail',
        async (client) => {
          out.err(`following ${organizationId} from ${String(since)} every ${pollMs} ms; Ctrl-C stops`);
          let n = 0;
          for await (const e of readerOf(config, organizationId, client).tail(filter, {
            since,
            pollMs,
            signal: stop.signal,
          })) {
            if (values.json) out.jsonLine(e);
            else out.out(eventLine(e));
            if (++n >= limit) break;
          }
        },
        noWarn,
      );
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    return EXIT.OK;
  },
};
