// `pdaas-audit indices [delete --before DAY]`: what storage the audit indices take (`_cat/indices`
// sizes, the `_stats` average event size), and deleting old ones when the disk runs full, by the
// dates in the index names instead of a hand-typed wildcard.
import { deleteIndices, type IndexInfo, indicesBefore, listIndices } from '../../opensearch/indices.js';
import { day, EXIT, EXIT_HELP, parse, subcommand, usageError } from '../args.js';
import { type Command, loadConfig, withClient } from '../context.js';
import { formatBytes, formatCount, plural, table } from '../output.js';
import { confirm } from '../prompt.js';

function totals(list: readonly IndexInfo[]) {
  const docs = list.reduce((n, i) => n + (i.docs ?? 0), 0);
  const storeBytes = list.reduce((n, i) => n + (i.storeBytes ?? 0), 0);
  const primary = list.reduce((n, i) => n + (i.primaryStoreBytes ?? 0), 0);
  return {
    indices: list.length,
    docs,
    storeBytes,
    avgEventBytes: docs > 0 ? Math.round(primary / docs) : null,
  };
}

function rows(list: readonly IndexInfo[]): string[] {
  return table(
    [
      ['index', 'health', 'docs', 'size', 'avg/event', 'lifecycle'],
      ...list.map((i) => [
        i.index,
        i.status === 'close' ? 'closed' : i.health,
        formatCount(i.docs),
        formatBytes(i.storeBytes),
        formatBytes(i.avgEventBytes),
        i.lifecycle ?? 'n/a',
      ]),
    ],
    new Set([2, 3, 4]),
  );
}

export const indices: Command = {
  summary: 'per audit index: documents, store size, average event size; delete old ones',
  help: `usage: pdaas-audit indices [--json]
       pdaas-audit indices delete --before YYYY-MM-DD [--yes] [--dry-run] [--json]

indices          every <prefix>-* index: health, documents, store size (replicas included),
                 average event size (primary store / documents), lifecycle state under
                 <prefix>-lifecycle (hot, warm, cold, delete; unmanaged: made before the policy)
indices delete   delete the indices whose date (from the name: -2026-11-27 daily, -2026-w48
                 weekly, -2026-11 monthly) lies wholly before the day given, after a prompt.
                 Indices without a date in their name are never deleted.

options:
  --before DAY     first day to keep, YYYY-MM-DD (UTC)
  --yes            delete without asking; required when stdin is not a terminal
  --dry-run        list what would be deleted
  --json           indices: {"indices": [{"index", "health", "status", "docs", "storeBytes",
                   "primaryStoreBytes", "avgEventBytes", "lifecycle"}], "total": {...}};
                   delete: {"deleted": [...], "dryRun"}

${EXIT_HELP}`,

  async run(argv, out) {
    const { values, positionals } = parse(
      argv,
      { before: { type: 'string' }, yes: { type: 'boolean' }, 'dry-run': { type: 'boolean' } },
      1,
    );
    const sub = subcommand(positionals, ['list', 'delete'], 'list');
    const config = loadConfig(out);
    const prefix = config.indexPrefix;
    if (sub === 'list') {
      const list = await withClient(config, 'indices', (client) => listIndices(client, prefix));
      if (values.json) out.json({ indices: list, total: totals(list) });
      else if (list.length === 0) out.out(`no ${prefix}-* indices`);
      else {
        for (const line of rows(list)) out.out(line);
        const t = totals(list);
        out.out(
          `total: ${plural(t.indices, 'index', 'indices')}, ${plural(t.docs, 'doc')}, ${formatBytes(t.storeBytes)}, ${formatBytes(t.avgEventBytes)} per event`,
        );
      }
      return EXIT.OK;
    }

    if (values.before === undefined) throw usageError('indices delete needs --before YYYY-MM-DD');
    const before = day('before', values.before);
    return withClient(config, 'indices delete', async (client) => {
      const doomed = indicesBefore(await listIndices(client, prefix), before);
      const names = doomed.map((i) => i.index);
      const dryRun = values['dry-run'] ?? false;
      if (doomed.length === 0 || dryRun) {
        if (values.json) out.json({ deleted: [], wouldDelete: names, dryRun });
        else if (doomed.length === 0) out.out(`no ${prefix}-* index lies wholly before ${values.before}`);
        else {
          for (const line of rows(doomed)) out.out(line);
          out.out(`would delete ${plural(doomed.length, 'index', 'indices')}`);
        }
        return EXIT.OK;
      }
      if (!values.yes) for (const line of rows(doomed)) out.err(line);
      const t = totals(doomed);
      const question = `Delete ${plural(t.indices, 'index', 'indices')} (${plural(t.docs, 'event')}, ${formatBytes(t.storeBytes)})?`;
      if (!(await confirm(out.io, { action: 'indices delete', question, yes: values.yes }))) {
        out.err('nothing deleted');
        return EXIT.FAILED;
      }
      await deleteIndices(client, names);
      if (values.json) out.json({ deleted: names, dryRun: false });
      else out.out(`deleted ${plural(names.length, 'index', 'indices')}: ${names.join(', ')}`);
      return EXIT.OK;
    });
  },
};
