// `pdaas-audit verify --org ORG`: checks one organization's hash chains as stored, through the
// tenant-scoped reader, in the manner of `aws cloudtrail validate-logs`: a line per problem, then
// "N/M events valid". Exit 0 intact, 1 problems found, 2 usage or connection error.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Checkpoint, publicKeyFromPem } from '../../chain/checkpoint.js';
import type { Problem, VerifyReport } from '../../chain/verify.js';
import { NO_ORGANIZATION } from '../../event.js';
import { createReader } from '../../reader/reader.js';
import { EXIT, parse, time, usageError } from '../args.js';
import { type Command, loadConfig, withClient } from '../context.js';
import { Progress } from '../progress.js';

/** What the result cannot vouch for, said under it. */
export function notes(r: VerifyReport): string[] {
  const c = r.checkpoints;
  const out: string[] = [];
  if (c.read === 0)
    out.push(
      'no checkpoints: the newest entries of a chain deleted, or a chain rewritten whole with recomputed hashes, would not show',
    );
  if (c.unsigned > 0)
    out.push(
      `${c.unsigned} checkpoints are unsigned: someone with write access could forge them (set AUDIT_SIGNING_KEY_FILE)`,
    );
  if (c.unchecked > 0) out.push(`${c.unchecked} checkpoint signatures not checked: give --public-key`);
  if (r.voided > 0)
    out.push(
      `${r.voided} positions are voided by their checkpoints: events refused by OpenSearch for good or dropped with a counted reason (see the dead letters and audit_events_dropped_total), not deletions`,
    );
  const after = r.chains.reduce((n, ch) => n + ch.afterCheckpoint, 0);
  if (after > 0)
    out.push(
      `${after} events are newer than their chain's last checkpoint: their deletion would not show until the next checkpoint covers them`,
    );
  return out;
}

export function problemLine(p: Problem): string {
  const where =
    p.kind === 'missing' && (p.count ?? 1) > 1
      ? `positions ${p.seq}-${p.seq + (p.count ?? 1) - 1}`
      : `position ${p.seq}`;
  return `${p.kind}: chain ${p.chainId} ${where}${p.eventId ? ` (event ${p.eventId})` : ''}: ${p.detail}`;
}

export function reportLines(r: VerifyReport): string[] {
  const lines = r.problems.map(problemLine);
  for (const c of r.chains)
    lines.push(
      `chain ${c.chainId}: positions ${c.firstSeq}-${c.lastSeq}, ${c.entries} entries, checkpointed to ${c.checkpointedSeq}${c.firstSeq > 1 ? ` (starts at ${c.firstSeq}: earlier entries are outside the range or past retention)` : ''}`,
    );
  const c = r.checkpoints;
  lines.push(
    `checkpoints: ${c.read} read, ${c.verified} signatures verified, ${c.unsigned} unsigned, ${c.unchecked} not checked`,
  );
  for (const n of notes(r)) lines.push(`note: ${n}`);
  lines.push(`${r.valid}/${r.events} events valid`);
  return lines;
}

/** Every checkpoint in the *.ndjson files of `dir` (AUDIT_CHECKPOINT_DIR). */
function checkpointFiles(dir: string): Checkpoint[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.ndjson'));
  } catch (err) {
    throw usageError(`--checkpoint-dir: cannot read ${dir} (${(err as NodeJS.ErrnoException).code})`);
  }
  const out: Checkpoint[] = [];
  for (const name of names) {
    for (const line of readFileSync(join(dir, name), 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      try {
        out.push(JSON.parse(line) as Checkpoint);
      } catch {
        // A torn last line (a crash mid-append) holds no checkpoint.
      }
    }
  }
  return out;
}

export const verify: Command = {
  summary: "check one organization's hash chains: modified, missing, inserted or reordered events",
  help: `usage: pdaas-audit verify --org ORG [--from TIME] [--to TIME] [--public-key FILE ...] [--json]

Reads every event of the organization in the range, sorted by chain and position, recomputes each
entry's SHA-256 over its canonical JSON (RFC 8785) and checks that every entry links to the one
before. Reports each problem with its kind and position:
  modified       the content no longer hashes to its chain_hash, or sits under another event's id
  missing        positions absent between two entries (deleted)
  inserted       a second entry for a position, or an event without a chain position
  out_of_order   an entry whose chain_prev is not the hash of the entry before it
  chain_missing  a chain that checkpoints name, or the next process's chain starts from, with no
                 entry stored
  checkpoint_missing  a checkpoint deleted (the next one links to it) or changed
  signature_invalid   a checkpoint whose signature does not verify
  unknown_key    a checkpoint signed by a key not given with --public-key
The checkpoints (each chain's head, signed, every AUDIT_CHECKPOINT_INTERVAL_SECONDS and at close)
also show the newest entries of a chain deleted, and a chain rewritten whole with recomputed
hashes. Then one line per chain, the checkpoints read, notes on what is not covered, and
"N/M events valid". A chain that starts after position 1 began before
--from or lost its oldest indices to retention: that is not tampering.

  --org ORG          the organization (required); ${NO_ORGANIZATION}: events stored without one
  --from TIME        from this time on: ISO (2026-11-01, 2026-11-01T10:00:00Z) or ago (15m, 24h, 7d)
  --to TIME          before this time (same forms)
  --public-key FILE  an Ed25519 public key (PEM) checkpoints may be signed with; repeat it for
                     rotated keys. Without it, signatures are not checked (and verify says so)
  --checkpoint-dir D the checkpoints from the files of AUDIT_CHECKPOINT_DIR instead of the
                     checkpoint index (a copy kept outside the cluster's trust domain)
  --json             the report: {"organization", "events", "valid", "chains", "problems",
                     "checkpoints", "notes"}

exit codes: 0 intact, 1 problems found, 2 usage or connection error`,

  async run(argv, out) {
    const { values } = parse(argv, {
      org: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      'public-key': { type: 'string', multiple: true },
      'checkpoint-dir': { type: 'string' },
    });
    const keyFiles = (values['public-key'] ?? []) as unknown as string[];
    const publicKeys = keyFiles.map((file) => {
      try {
        const pem = readFileSync(file, 'utf8');
        publicKeyFromPem(pem);
        return pem;
      } catch (err) {
        throw usageError(
          `--public-key ${file}: not a readable Ed25519 public key (${(err as Error).message})`,
        );
      }
    });
    const fromFiles =
      values['checkpoint-dir'] === undefined ? undefined : checkpointFiles(values['checkpoint-dir']);
    if (values.org === undefined || values.org.trim() === '') throw usageError('verify needs --org ORG');
    const organizationId = values.org;
    const now = Date.now();
    const filter = {
      ...(values.from !== undefined && { from: time('from', values.from, now) }),
      ...(values.to !== undefined && { to: time('to', values.to, now) }),
    };
    const config = loadConfig(out);
    let report: VerifyReport;
    try {
      report = await withClient(
        config,
        'verify',
        async (client) => {
          const reader = createReader({ organizationId, indexPrefix: config.indexPrefix, client });
          const total = await reader.count(filter);
          const progress = new Progress(out.io.stderr, 'verifying', total);
          let seen = 0;
          try {
            return await reader.verify(filter, {
              publicKeys,
              ...(fromFiles && { checkpoints: fromFiles }),
              onProgress: (events) => {
                progress.add(events - seen);
                seen = events;
              },
            });
          } finally {
            progress.finish();
          }
        },
        { warn: false },
      );
    } catch (err) {
      // A connection or permission failure is not a verdict on the data: exit 2, never 1.
      out.err(`pdaas-audit verify: ${out.mask((err as Error).message)}`);
      return EXIT.USAGE;
    }
    if (values.json) out.json({ ...report, notes: notes(report) });
    else for (const line of reportLines(report)) out.out(line);
    return report.problems.length === 0 ? EXIT.OK : EXIT.FAILED;
  },
};
