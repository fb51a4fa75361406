// `pdaas-audit verify --org ORG`: checks one organization's hash chains as stored, through the
// tenant-scoped reader, in the manner of `aws cloudtrail validate-logs`: a line per problem, then
// "N/M events valid". Exit 0 intact, 1 problems found, 2 usage or connection error.
import type { Problem, VerifyReport } from '../../chain/verify.js';
import { NO_ORGANIZATION } from '../../event.js';
import { createReader } from '../../reader/reader.js';
import { EXIT, parse, time, usageError } from '../args.js';
import { type Command, loadConfig, withClient } from '../context.js';
import { Progress } from '../progress.js';

/** What a chain alone cannot show, said with every result until checkpoints are signed. */
const UNPROTECTED =
  'not protected without signed checkpoints: the newest entries of a chain deleted, or a chain rewritten whole with recomputed hashes';

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
      `chain ${c.chainId}: positions ${c.firstSeq}-${c.lastSeq}, ${c.entries} entries${c.firstSeq > 1 ? ` (starts at ${c.firstSeq}: earlier entries are outside the range or past retention)` : ''}`,
    );
  lines.push(`note: ${UNPROTECTED}`);
  lines.push(`${r.valid}/${r.events} events valid`);
  return lines;
}

export const verify: Command = {
  summary: "check one organization's hash chains: modified, missing, inserted or reordered events",
  help: `usage: pdaas-audit verify --org ORG [--from TIME] [--to TIME] [--json]

Reads every event of the organization in the range, sorted by chain and position, recomputes each
entry's SHA-256 over its canonical JSON (RFC 8785) and checks that every entry links to the one
before. Reports each problem with its kind and position:
  modified       the content no longer hashes to its chain_hash, or sits under another event's id
  missing        positions absent between two entries (deleted)
  inserted       a second entry for a position, or an event without a chain position
  out_of_order   an entry whose chain_prev is not the hash of the entry before it
then one line per chain and "N/M events valid". A chain that starts after position 1 began before
--from or lost its oldest indices to retention: that is not tampering.

  --org ORG          the organization (required); ${NO_ORGANIZATION}: events stored without one
  --from TIME        from this time on: ISO (2026-11-01, 2026-11-01T10:00:00Z) or ago (15m, 24h, 7d)
  --to TIME          before this time (same forms)
  --json             the report: {"organization", "events", "valid", "chains", "problems"}

exit codes: 0 intact, 1 problems found, 2 usage or connection error`,

  async run(argv, out) {
    const { values } = parse(argv, {
      org: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
    });
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
    if (values.json) out.json({ ...report, note: UNPROTECTED });
    else for (const line of reportLines(report)) out.out(line);
    return report.problems.length === 0 ? EXIT.OK : EXIT.FAILED;
  },
};
