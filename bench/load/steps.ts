// The per-step table of the main thread's cost per request, measured in the server: built from the
// summaries bench/load/profile.ts writes (bench/results/profile-<framework>.json), as the audited
// server's self time per category minus the pass-through server's, request by request. Both
// BENCHMARKS.md and docs/ARCHITECTURE.md show it (bench/summarize.ts writes both).

interface Window {
  rps: number;
  main_cpu_us_per_req: number;
  gc_us_per_req: number;
  alloc_bytes_per_req: number;
  cpu: { sampled_us_per_req: number; by_category: Record<string, number> };
}

export interface ProfileSummary {
  date: string;
  framework: string;
  duration: number;
  paced_rate: number;
  windows: Record<string, Window>;
}

/** The audit's own steps, in the order a request meets them, with what each holds. */
const STEPS: [category: string, label: string][] = [
  ['audit: adapter', 'adapter: reads route, principal, headers and the body cache after the handler'],
  ['audit: capture (build-event, body, route)', 'capture: builds the event (caps, action, target, trace id)'],
  ['audit: encoder', 'encoder: writes the msgpack frame'],
  ['audit: ring producer', 'ring: copies the frame into shared memory and publishes it'],
  ['audit: Audit.capture', 'Audit.capture: sequence, shard, drop counts, hot-path histogram'],
  ['clocks', 'clocks (Date.now, performance.now)'],
];
const AUDIT_OTHER = ['audit: other', 'audit: prom-client'];

const f = (n: number | undefined, digits = 2) =>
  n !== undefined && Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
const signed = (n: number | undefined, digits = 2) =>
  n !== undefined && Number.isFinite(n) ? `${n >= 0 ? '+' : ''}${n.toFixed(digits)}` : 'n/a';

const frameworkName: Record<string, string> = { hono: 'Hono', express: 'Express 5' };

export function stepTable(profiles: ProfileSummary[]): string[] {
  const columns: { head: string; audited: Window; base: Window }[] = [];
  for (const p of profiles)
    for (const kind of ['GET', 'POST'])
      for (const load of ['saturation', `paced-${p.paced_rate}`]) {
        const audited = p.windows[`audited ${kind}-${load}`];
        const base = p.windows[`passthrough ${kind}-${load}`];
        if (audited && base)
          columns.push({
            head: `${frameworkName[p.framework] ?? p.framework} ${kind} ${load === 'saturation' ? 'saturation' : `${p.paced_rate}/s`}`,
            audited,
            base,
          });
      }
  if (columns.length === 0) return [];
  const cat = (w: Window, c: string) => w.cpu.by_category[c] ?? 0;
  const delta = (c: string) => columns.map((col) => cat(col.audited, c) - cat(col.base, c));
  const row = (label: string, values: number[], digits = 2) =>
    `| ${label} | ${values.map((v) => signed(v, digits)).join(' | ')} |`;
  const own = columns.map((col) =>
    [...STEPS.map(([c]) => c), ...AUDIT_OTHER].reduce((sum, c) => sum + cat(col.audited, c), 0),
  );
  const frameworkCats = (w: Window) =>
    Object.keys(w.cpu.by_category).filter((c) => c.startsWith('framework:'));
  const lines = [
    `| µs per request (audited − pass-through) | ${columns.map((c) => c.head).join(' | ')} |`,
    `|---|${columns.map(() => '--:').join('|')}|`,
    ...STEPS.map(([c, label]) => row(label, delta(c))),
    row(
      'other audit code (metrics, logging)',
      columns.map((col) => AUDIT_OTHER.reduce((s, c) => s + cat(col.audited, c) - cat(col.base, c), 0)),
    ),
    row('**the audit’s own code, sampled**', own),
    row(
      'the framework around the audit (its dispatch, the body cache)',
      columns.map((col) =>
        [...new Set([...frameworkCats(col.audited), ...frameworkCats(col.base)])].reduce(
          (s, c) => s + cat(col.audited, c) - cat(col.base, c),
          0,
        ),
      ),
    ),
    row('Node core (sockets, HTTP, streams, microtasks)', delta('node core')),
    row('garbage collection (sampled)', delta('GC')),
    row('unattributed native', delta('program (native, unattributed)')),
    row(
      'all sampled main-thread time',
      columns.map((col) => col.audited.cpu.sampled_us_per_req - col.base.cpu.sampled_us_per_req),
    ),
    row(
      'main-thread CPU from /proc',
      columns.map((col) => col.audited.main_cpu_us_per_req - col.base.main_cpu_us_per_req),
    ),
    row(
      'heap bytes allocated per request',
      columns.map((col) => col.audited.alloc_bytes_per_req - col.base.alloc_bytes_per_req),
      0,
    ),
    `| req/s audited / pass-through | ${columns.map((col) => `${f(col.audited.rps, 0)} / ${f(col.base.rps, 0)}`).join(' | ')} |`,
  ];
  return lines;
}

/** What a reader needs to read the table: where it came from and how it was cut. */
export function stepTableSource(profiles: ProfileSummary[]): string {
  return profiles
    .map(
      (p) =>
        `${frameworkName[p.framework] ?? p.framework}: bench/results/profile-${p.framework}.md, run ${p.date}, ${p.duration} s windows`,
    )
    .join('; ');
}
