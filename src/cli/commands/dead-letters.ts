// `pdaas-audit dead-letters list|redrive`: the events OpenSearch refused for good (a mapping
// conflict, a document it cannot parse), kept in AUDIT_SPOOL_DIR/dead-letter/. After the cause is
// fixed (the mapping corrected, the conflicting index deleted), redrive sends them again with
// their own _id and routing: what is indexed leaves the file, what fails again stays with the new
// reason.
import type { AuditConfig } from '../../config/options.js';
import {
  type DeadLetter,
  type DeadLetterFile,
  deadLetterDir,
  readDeadLetters,
  reasonGroup,
  rewrite,
} from '../../delivery/dead-letters.js';
import { gzipBody, ndjson, postBulk } from '../../opensearch/bulk.js';
import { ensureTemplate } from '../../opensearch/setup.js';
import { day, EXIT, integer, parse, subcommand } from '../args.js';
import { type Command, loadConfig, withClient } from '../context.js';
import { formatCount, type Output, plural, table } from '../output.js';
import { Progress } from '../progress.js';

function tally<T>(items: readonly T[], key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of items) out[key(t)] = (out[key(t)] ?? 0) + 1;
  return Object.fromEntries(Object.entries(out).sort((a, b) => b[1] - a[1]));
}

function summarize(files: readonly DeadLetterFile[]) {
  const entries = files.flatMap((f) => f.entries);
  return {
    total: entries.length,
    unreadable: files.reduce((n, f) => n + f.unreadable.length, 0),
    files: files.map((f) => ({ file: f.name, count: f.entries.length, unreadable: f.unreadable.length })),
    byStatus: tally(entries, (e) => String(e.status)),
    byError: tally(entries, (e) => e.error ?? '(none)'),
    byReason: tally(entries, (e) => reasonGroup(e.reason)),
    byIndex: tally(entries, (e) => e.index),
  };
}

function printTally(out: Output, label: string, counts: Record<string, number>): void {
  const rows = Object.entries(counts).slice(0, 10);
  out.out(`by ${label}:`);
  for (const line of table(
    rows.map(([k, n]) => [formatCount(n), k]),
    new Set([0]),
  ))
    out.out(`  ${line}`);
  if (Object.keys(counts).length > rows.length)
    out.out(`  … and ${Object.keys(counts).length - rows.length} more`);
}

function list(
  out: Output,
  config: AuditConfig,
  files: DeadLetterFile[],
  limit: number,
  json: boolean | undefined,
) {
  const s = summarize(files);
  const entries = files.flatMap((f) => f.entries).slice(0, limit);
  if (json) {
    out.json({ dir: deadLetterDir(config.spoolDir), ...s, entries });
    return EXIT.OK;
  }
  out.out(
    `dead letters in ${deadLetterDir(config.spoolDir)}: ${formatCount(s.total)} in ${plural(files.length, 'file')}`,
  );
  if (s.total === 0 && s.unreadable === 0) return EXIT.OK;
  for (const line of table(
    s.files.map((f) => [
      f.file,
      formatCount(f.count),
      f.unreadable > 0 ? `${f.unreadable} unreadable lines` : '',
    ]),
    new Set([1]),
  ))
    out.out(`  ${line.trimEnd()}`);
  printTally(out, 'status', s.byStatus);
  printTally(out, 'error', s.byError);
  printTally(out, 'reason', s.byReason);
  printTally(out, 'index', s.byIndex);
  if (entries.length > 0) {
    out.out(`first ${entries.length}:`);
    for (const e of entries)
      out.out(`  ${e.at}  ${e.status} ${e.error ?? '-'}  ${e.index}  ${e.id}  ${e.reason ?? ''}`);
  }
  return EXIT.OK;
}

async function redrive(out: Output, config: AuditConfig, files: DeadLetterFile[], json: boolean | undefined) {
  const total = files.reduce((n, f) => n + f.entries.length, 0);
  if (total === 0) {
    if (json) out.json({ attempted: 0, indexed: 0, failed: 0, complete: true, byReason: {} });
    else out.out(`no dead letters in ${deadLetterDir(config.spoolDir)}`);
    return EXIT.OK;
  }
  return withClient(config, 'dead-letters redrive', async (client) => {
    if (config.installTemplate) {
      // As a worker would before writing: a deleted index must come back with the template's mappings.
      try {
        if (
          (await ensureTemplate(client, {
            prefix: config.indexPrefix,
            shards: config.indexShards,
            replicas: config.indexReplicas,
          })) === 'installed'
        )
          out.err(`installed the missing index template for ${config.indexPrefix}-*`);
      } catch (err) {
        out.err(`pdaas-audit: warning: template check failed: ${(err as Error).message}`);
      }
    }
    const progress = new Progress(out.io.stderr, 'redriving', total);
    let indexed = 0;
    const failures: DeadLetter[] = [];
    let error: string | undefined;
    for (const file of files) {
      const keep = [...file.unreadable];
      for (let at = 0; at < file.entries.length; at += config.batchSize) {
        const batch = file.entries.slice(at, at + config.batchSize);
        if (error !== undefined) {
          keep.push(...batch.map((e) => JSON.stringify(e)));
          continue;
        }
        const docs = batch.map((e) => ({ index: e.index, id: e.id, routing: e.routing, source: e.document }));
        let items: Awaited<ReturnType<typeof postBulk>>['items'];
        try {
          items = (await postBulk(client, gzipBody(ndjson(docs)))).items;
        } catch (err) {
          // The request failed as a whole: nothing of this batch is known to be indexed; keep it all.
          error = (err as Error).message;
          keep.push(...batch.map((e) => JSON.stringify(e)));
          continue;
        }
        const now = new Date().toISOString();
        items.forEach((item, i) => {
          const e = batch[i] as DeadLetter;
          // 409: indexed before (the ids are the events' own), which is as good as indexed now.
          if (item.status === 200 || item.status === 201 || item.status === 409) indexed++;
          else {
            const again: DeadLetter = {
              ...e,
              at: now,
              status: item.status,
              error: item.error?.type,
              reason: item.error?.reason,
            };
            failures.push(again);
            keep.push(JSON.stringify(again));
          }
        });
        progress.add(batch.length);
      }
      await rewrite(file, keep);
    }
    progress.finish();
    const byReason = tally(failures, (e) => reasonGroup(e.reason));
    const remaining = total - indexed;
    const complete = error === undefined && failures.length === 0;
    if (json)
      out.json({
        attempted: total,
        indexed,
        failed: failures.length,
        remaining,
        complete,
        byReason,
        ...(error !== undefined && { error }),
      });
    else {
      out.out(
        `redrove ${plural(total, 'dead letter')}: ${formatCount(indexed)} indexed, ${formatCount(remaining)} still in ${deadLetterDir(config.spoolDir)}`,
      );
      if (failures.length > 0) printTally(out, 'reason (failed again)', byReason);
      if (error !== undefined) out.err(`pdaas-audit: redrive stopped: ${error}; the rest is kept`);
    }
    return complete ? EXIT.OK : EXIT.FAILED;
  });
}

export const deadLetters: Command = {
  summary: 'inspect dead letters, or send them again after a mapping fix',
  help: `usage: pdaas-audit dead-letters list [--day YYYY-MM-DD] [--limit N] [--json]
       pdaas-audit dead-letters redrive [--day YYYY-MM-DD] [--json]

Dead letters are events OpenSearch refused for good (a mapping conflict, say), kept in
AUDIT_SPOOL_DIR/dead-letter/<day>.ndjson with the status, error type and reason.

list      counts by file, status, error type, reason (document ids and values stripped, so one
          cause is one line) and index, then the first --limit entries (default 10)
redrive   after fixing the cause (correct the mapping, or delete the conflicting index so the
          template recreates it), send them again with their own _id and routing. Indexed lines
          leave the files; failures stay with their new status and reason. Progress on stderr.
          The template is installed first if missing (AUDIT_INSTALL_TEMPLATE).

options:
  --day D     only the file of that day
  --limit N   entries list shows
  --json      list: {"dir", "total", "unreadable", "files", "byStatus", "byError", "byReason",
              "byIndex", "entries"}; redrive: {"attempted", "indexed", "failed", "remaining",
              "complete", "byReason"}

exit codes: 0 ok (redrive: every dead letter indexed), 1 redrive left some or OpenSearch failed,
2 usage error`,

  async run(argv, out) {
    const { values, positionals } = parse(argv, { day: { type: 'string' }, limit: { type: 'string' } }, 1);
    const sub = subcommand(positionals, ['list', 'redrive'], 'list');
    if (values.day !== undefined) day('day', values.day);
    const limit = values.limit === undefined ? 10 : integer('limit', values.limit, 0, 1e6);
    const config = loadConfig(out);
    const files = await readDeadLetters(config.spoolDir, values.day);
    return sub === 'list'
      ? list(out, config, files, limit, values.json)
      : redrive(out, config, files, values.json);
  },
};
