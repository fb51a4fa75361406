// `pdaas-audit spool show|replay|purge`: the events waiting in AUDIT_SPOOL_DIR (all of them when no
// OpenSearch is configured). Replay delivers them the way the workers do (BulkSink: _bulk create
// with the event's own _id, so a replayed event already indexed is a 409, not a duplicate; mapping
// errors to the dead-letter file) and deletes each segment once it is acknowledged (Spool).
import { stat, unlink } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { AuditConfig } from '../../config/options.js';
import { Breaker, createBreakerBuffer } from '../../delivery/breaker.js';
import { BulkSink } from '../../delivery/bulk-sink.js';
import { countDeadLetters } from '../../delivery/dead-letters.js';
import { createStatsBuffer } from '../../layout.js';
import { StatRow } from '../../metrics/stat-row.js';
import { spoolHolders } from '../../spool/holders.js';
import { OwnerCheck, segmentOwner } from '../../spool/lease.js';
import { readSpool } from '../../spool/reader.js';
import { Spool } from '../../spool/spool.js';
import { EXIT, EXIT_HELP, integer, parse, subcommand } from '../args.js';
import { type Command, loadConfig, withClient } from '../context.js';
import { formatBytes, formatCount, type Output, plural, table } from '../output.js';
import { Progress } from '../progress.js';
import { confirm } from '../prompt.js';
import { eventLine } from './events.js';

interface SegmentInfo {
  file: string;
  events: number;
  bytes: number;
  oldest: string | null;
  newest: string | null;
  corruptTail: boolean;
}

async function inspect(dir: string, sampleSize: number) {
  const segments: SegmentInfo[] = [];
  const sample: Record<string, unknown>[] = [];
  for await (const seg of readSpool(dir)) {
    const times = seg.documents.map((d) => String(d.source.occurred_at)).sort();
    segments.push({
      file: relative(dir, seg.file),
      events: seg.documents.length,
      bytes: (await stat(seg.file)).size,
      oldest: times[0] ?? null,
      newest: times.at(-1) ?? null,
      corruptTail: seg.corruptTail,
    });
    for (const d of seg.documents) if (sample.length < sampleSize) sample.push(d.source);
  }
  const times = segments.flatMap((s) => (s.oldest && s.newest ? [s.oldest, s.newest] : [])).sort();
  return {
    dir,
    segments,
    events: segments.reduce((n, s) => n + s.events, 0),
    bytes: segments.reduce((n, s) => n + s.bytes, 0),
    oldest: times[0] ?? null,
    newest: times.at(-1) ?? null,
    corruptTails: segments.filter((s) => s.corruptTail).length,
    deadLetters: await countDeadLetters(dir),
    sample,
  };
}

/** Refuses (exit 1) while another process holds a segment open, unless --force. */
async function checkHolders(out: Output, dir: string, force: boolean | undefined): Promise<boolean> {
  const holders = await spoolHolders(dir);
  if (holders.length === 0 || force) return true;
  const pids = [...new Set(holders.map((h) => h.pid))].join(', ');
  out.err(
    `pdaas-audit: process ${pids} has ${relative(dir, holders[0]?.file ?? dir)} open: a running service owns this spool and replays it itself when OpenSearch answers. Stop it first, or pass --force.`,
  );
  return false;
}

async function replay(
  out: Output,
  config: AuditConfig,
  json: boolean | undefined,
  force: boolean | undefined,
) {
  const dir = config.spoolDir;
  if (!(await checkHolders(out, dir, force))) return EXIT.FAILED;
  const before = await inspect(dir, 0);
  if (before.events === 0 && before.segments.length === 0) {
    if (json)
      out.json({
        dir,
        events: 0,
        indexed: 0,
        deadLettered: 0,
        dropped: 0,
        remaining: 0,
        corruptTails: 0,
        complete: true,
      });
    else out.out(`spool ${dir} is empty: nothing to replay`);
    return EXIT.OK;
  }
  return withClient(config, 'spool replay', async (client) => {
    const progress = new Progress(out.io.stderr, 'replaying', before.events);
    const log = (level: string, msg: string, fields?: Record<string, unknown>) =>
      progress.note(out.mask(`${level}: ${msg}${fields ? ` ${JSON.stringify(fields)}` : ''}`));
    // A breaker and a stats row of our own: the same delivery rules as a worker, counted nowhere.
    const breaker = new Breaker(
      createBreakerBuffer(),
      Date.now(),
      config.breakerFailures,
      config.breakerCooldownSeconds * 1000,
      { requestTimeoutMs: config.opensearch.timeoutSeconds * 1000 },
    );
    const sink = new BulkSink(client, config, new StatRow(createStatsBuffer(1), 0), log, breaker);
    // One shard of one: this spool replays every shard-N folder. It never appends, so its instance
    // (the segment name part of new segments) is unused.
    const spool = new Spool({
      root: dir,
      shard: 0,
      shards: 1,
      instance: 'cli',
      maxBytes: Number.MAX_SAFE_INTEGER,
    });
    let indexed = 0;
    let deadLettered = 0;
    let dropped = 0;
    let corruptTails = 0;
    let lastError: string | undefined;
    let complete = true;
    for (;;) {
      if (!force && !(await checkHolders(out, dir, force))) {
        complete = false;
        break;
      }
      const r = await spool.replayOldest(async (docs) => {
        const d = await sink.deliver(docs);
        progress.add(d.indexed + d.deadLettered + d.deadLetterLost);
        if (d.lastError !== undefined) lastError = d.lastError;
        return d;
      }, config.batchSize);
      if (!r) break;
      if (r.error !== undefined) lastError = `${r.error} (set aside as .seg.bad)`;
      indexed += r.foreignIndexed + r.ownIndexed;
      deadLettered += r.foreignDeadLettered + r.ownDeadLettered;
      dropped += r.foreignDeadLetterLost + r.ownDeadLetterLost;
      corruptTails += r.corruptTails;
      if (!r.complete) {
        complete = false;
        break;
      }
    }
    await spool.close();
    progress.finish();
    const after = await inspect(dir, 0);
    const result = {
      dir,
      events: before.events,
      indexed,
      deadLettered,
      dropped,
      remaining: after.events,
      corruptTails,
      complete,
      ...(lastError !== undefined && !complete && { error: lastError }),
    };
    if (json) out.json(result);
    else {
      out.out(
        `replayed ${dir}: ${formatCount(indexed)} indexed, ${formatCount(deadLettered)} dead-lettered, ${dropped > 0 ? `${formatCount(dropped)} refused and dropped (the dead-letter file could not be written), ` : ''}${formatCount(after.events)} left in the spool${corruptTails > 0 ? `, ${plural(corruptTails, 'corrupt tail')} skipped` : ''}`,
      );
      if (!complete)
        out.err(
          `pdaas-audit: replay stopped${lastError ? `: ${lastError}` : ''}; what was not delivered is still in the spool`,
        );
    }
    return complete ? EXIT.OK : EXIT.FAILED;
  });
}

export const spool: Command = {
  summary: 'inspect, deliver or delete the events waiting in AUDIT_SPOOL_DIR',
  help: `usage: pdaas-audit spool show [--limit N] [--json]
       pdaas-audit spool replay [--force] [--json]
       pdaas-audit spool purge [--yes] [--force] [--json]

show     segments, events, bytes, oldest and newest event, corrupt tails, dead letters, and the
         first --limit events (default 10)
replay   send the spooled events to OpenSearch (AUDIT_OPENSEARCH_*) as the workers do: _bulk
         create with each event's own _id, so an event already indexed is not indexed twice;
         refused items go to the dead-letter file; each segment is deleted once acknowledged.
         Progress on stderr. Exit 1 if it stops early (OpenSearch failing): the rest stays.
purge    delete every spooled event (dead letters are kept), after a prompt

A running service replays its spool itself once OpenSearch answers. replay and purge refuse
(exit 1) while a process holds a segment of this spool open (found through /proc on Linux);
stop the services that share AUDIT_SPOOL_DIR first, or pass --force.

options:
  --limit N   events shown by show
  --yes       purge without asking; required when stdin is not a terminal
  --force     replay or purge although a process holds the spool open
  --json      show: {"dir", "segments": [...], "events", "bytes", "oldest", "newest",
              "corruptTails", "deadLetters", "sample": [...]}; replay: {"events", "indexed",
              "deadLettered", "dropped", "remaining", "corruptTails", "complete"}; purge: {"purged", ...}

${EXIT_HELP}`,

  async run(argv, out) {
    const { values, positionals } = parse(
      argv,
      { limit: { type: 'string' }, yes: { type: 'boolean' }, force: { type: 'boolean' } },
      1,
    );
    const sub = subcommand(positionals, ['show', 'replay', 'purge'], 'show');
    const config = loadConfig(out);
    const dir = config.spoolDir;
    if (sub === 'replay') return replay(out, config, values.json, values.force);

    if (sub === 'show') {
      const limit = values.limit === undefined ? 10 : integer('limit', values.limit, 0, 1e6);
      const s = await inspect(dir, limit);
      if (values.json) {
        out.json(s);
        return EXIT.OK;
      }
      out.out(
        `spool ${dir}: ${plural(s.segments.length, 'segment')}, ${plural(s.events, 'event')}, ${formatBytes(s.bytes)}, oldest ${s.oldest ?? '-'}, newest ${s.newest ?? '-'}, ${plural(s.corruptTails, 'corrupt tail')}, ${plural(s.deadLetters, 'dead letter')}`,
      );
      if (s.segments.length > 0) {
        const rows = s.segments.map((g) => [
          g.file,
          plural(g.events, 'event'),
          formatBytes(g.bytes),
          `${g.oldest ?? '-'} … ${g.newest ?? '-'}`,
          g.corruptTail ? 'corrupt tail' : '',
        ]);
        for (const line of table(rows, new Set([1, 2]))) out.out(`  ${line.trimEnd()}`);
      }
      if (s.sample.length > 0) {
        out.out(`first ${s.sample.length} of ${formatCount(s.events)} events:`);
        for (const e of s.sample) out.out(`  ${eventLine(e)}`);
      }
      return EXIT.OK;
    }

    if (!(await checkHolders(out, dir, values.force))) return EXIT.FAILED;
    const s = await inspect(dir, 0);
    if (s.segments.length === 0) {
      if (values.json) out.json({ dir, purged: 0, events: 0, bytes: 0 });
      else out.out(`spool ${dir} is empty: nothing to purge`);
      return EXIT.OK;
    }
    const question = `Delete ${plural(s.events, 'spooled event')} (${plural(s.segments.length, 'segment')}, ${formatBytes(s.bytes)}, never indexed) from ${dir}?`;
    if (!(await confirm(out.io, { action: 'spool purge', question, yes: values.yes }))) {
      out.err('nothing deleted');
      return EXIT.FAILED;
    }
    // A running service's segments stay with it (it counts them as spooled), unless --force.
    const owners = new OwnerCheck(dir);
    let kept = 0;
    for (const seg of s.segments) {
      const owner = segmentOwner(join(dir, seg.file));
      if (!values.force && owner !== undefined && (await owners.alive(owner))) kept++;
      else await unlink(join(dir, seg.file));
    }
    if (kept > 0)
      out.err(
        `pdaas-audit: kept ${plural(kept, 'segment')} a running service still owns (--force deletes them too)`,
      );
    const purged = s.segments.length - kept;
    if (values.json) out.json({ dir, purged, kept, events: s.events, bytes: s.bytes });
    else
      out.out(
        `purged ${plural(purged, 'segment')} of ${plural(s.segments.length, 'segment')} (${plural(s.events, 'event')}, ${formatBytes(s.bytes)}) from ${dir}; dead letters kept`,
      );
    return EXIT.OK;
  },
};
