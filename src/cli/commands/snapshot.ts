// `pdaas-audit snapshot create|list|restore`: the guide's snapshot steps for the audit indices
// (a filesystem repository under path.repo) as commands with progress, instead of curl and polling.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  defaultRepository,
  ensureRepository,
  listSnapshots,
  planRestore,
  restoreProgress,
  snapshotName,
  snapshotProgress,
  startRestore,
  startSnapshot,
} from '../../opensearch/snapshots.js';
import { EXIT, EXIT_HELP, parse, subcommand, usageError } from '../args.js';
import { type Command, loadConfig, withClient } from '../context.js';
import { formatBytes, plural, table } from '../output.js';
import { Progress } from '../progress.js';

const POLL_MS = 500;

export const snapshot: Command = {
  summary: 'snapshot the audit indices, list snapshots, restore deleted indices',
  help: `usage: pdaas-audit snapshot create [--repository NAME] [--location PATH] [--name NAME] [--no-wait] [--json]
       pdaas-audit snapshot list [--repository NAME] [--json]
       pdaas-audit snapshot restore NAME [--repository NAME] [--index PATTERN] [--no-wait] [--json]

snapshot create    snapshot every <prefix>-* index (no cluster state) and follow it to the end
                   with progress on stderr; prints the snapshot's name and state
snapshot list      the repository's snapshots: name, state, start, duration, indices, shards
snapshot restore   bring back the snapshot's indices (of --index, default <prefix>-*) that are
                   missing from the cluster, then wait until their primaries are started. An index
                   that exists is never overwritten: it is listed as present and left alone.

options:
  --repository NAME  default <prefix>-snapshots
  --location PATH    register the repository as a filesystem repository at PATH when it is not
                     registered yet; PATH must lie under path.repo on every node
  --name NAME        default <prefix>-YYYY.MM.DD-HHMMSS (UTC)
  --index PATTERN    restore only these indices (a wildcard pattern)
  --no-wait          start and return; follow with 'snapshot list'
  --json             create: {"repository", "snapshot", "state", "shards", "bytes"};
                     list: {"snapshots": [...]}; restore: {"restored": [...], "present": [...]}

${EXIT_HELP}`,

  async run(argv, out) {
    const { values, positionals } = parse(
      argv,
      {
        repository: { type: 'string' },
        location: { type: 'string' },
        name: { type: 'string' },
        index: { type: 'string' },
        'no-wait': { type: 'boolean' },
      },
      2,
    );
    const sub = subcommand(positionals, ['create', 'list', 'restore']);
    const config = loadConfig(out);
    const prefix = config.indexPrefix;
    const repository = values.repository ?? defaultRepository(prefix);
    const wait = !values['no-wait'];

    if (sub === 'list') {
      if (positionals.length > 1) throw usageError(`unexpected argument '${positionals[1]}'`);
      const list = await withClient(config, 'snapshot list', (client) => listSnapshots(client, repository));
      if (values.json) out.json({ repository, snapshots: list });
      else if (list.length === 0) out.out(`no snapshots in ${repository}`);
      else
        for (const line of table([
          ['snapshot', 'state', 'started', 'duration', 'indices', 'shards'],
          ...list.map((s) => [
            s.name,
            s.state,
            s.startedAt ?? '-',
            s.durationMs === null ? '-' : `${(s.durationMs / 1000).toFixed(1)} s`,
            String(s.indices.length),
            s.shardsFailed > 0 ? `${s.shardsTotal} (${s.shardsFailed} failed)` : String(s.shardsTotal),
          ]),
        ]))
          out.out(line);
      return EXIT.OK;
    }

    if (sub === 'create') {
      if (positionals.length > 1) throw usageError(`unexpected argument '${positionals[1]}'`);
      const name = values.name ?? snapshotName(prefix);
      return withClient(config, 'snapshot create', async (client) => {
        if ((await ensureRepository(client, repository, values.location)) === 'registered')
          out.err(`registered filesystem repository ${repository} at ${values.location}`);
        await startSnapshot(client, repository, name, `${prefix}-*`);
        let p = await snapshotProgress(client, repository, name);
        if (wait) {
          const bar = new Progress(out.io.stderr, `snapshot ${name} (shards)`, p.shardsTotal);
          while (p.state === 'STARTED' || p.state === 'INIT' || p.state === 'IN_PROGRESS') {
            await sleep(POLL_MS);
            const next = await snapshotProgress(client, repository, name);
            bar.add(next.shardsDone - p.shardsDone);
            p = next;
          }
          bar.finish();
        }
        if (values.json)
          out.json({
            repository,
            snapshot: name,
            state: p.state,
            shards: { done: p.shardsDone, total: p.shardsTotal },
            bytes: { done: p.bytesDone, total: p.bytesTotal },
          });
        else
          out.out(
            `snapshot ${repository}/${name}: ${p.state}, ${p.shardsDone}/${plural(p.shardsTotal, 'shard')}, ${formatBytes(p.bytesDone)}`,
          );
        return !wait || p.state === 'SUCCESS' ? EXIT.OK : EXIT.FAILED;
      });
    }

    const name = positionals[1];
    if (name === undefined) throw usageError('snapshot restore needs the snapshot name (see snapshot list)');
    const pattern = values.index ?? `${prefix}-*`;
    return withClient(config, 'snapshot restore', async (client) => {
      const plan = await planRestore(client, repository, name, pattern);
      for (const index of plan.present) out.err(`${index}: present in the cluster, left alone`);
      if (plan.restore.length === 0) {
        if (values.json) out.json({ restored: [], present: plan.present });
        else out.out(`nothing to restore: every ${pattern} index of ${name} is present`);
        return EXIT.OK;
      }
      await startRestore(client, repository, name, plan.restore);
      if (wait) {
        let p = await restoreProgress(client, plan.restore);
        const bar = new Progress(out.io.stderr, `restore ${name} (primaries)`, p.total);
        bar.add(p.done);
        // The restored indices show in _cat/shards a moment after the restore starts.
        while (p.total === 0 || p.done < p.total) {
          await sleep(POLL_MS);
          const next = await restoreProgress(client, plan.restore);
          bar.add(next.done - p.done);
          p = next;
        }
        bar.finish();
      }
      if (values.json) out.json({ restored: plan.restore, present: plan.present });
      else
        out.out(
          `restored ${plural(plan.restore.length, 'index', 'indices')} from ${name}: ${plan.restore.join(', ')}`,
        );
      return EXIT.OK;
    });
  },
};
