// Markdown for one load run (bench/results/load.json → load.md and the load part of BENCHMARKS.md),
// with each of issue #6's targets judged from the run's own numbers.
import type { OverheadResult } from './overhead.js';
import type { ProfileResult } from './profiles.js';

export interface LoadRun {
  date: string;
  machine: { cpus: number; model: string; memory_gib: number; node: string };
  short: boolean;
  wall_seconds: number;
  overhead?: OverheadResult;
  profiles: ProfileResult[];
}

const f = (n: number | undefined, digits = 2) =>
  n !== undefined && Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
const ms = (us: number | undefined) => f(us === undefined ? undefined : us / 1000);
const verdict = (ok: boolean) => (ok ? 'met' : 'missed');

function overheadSection(o: OverheadResult): string[] {
  const p = o.parameters;
  const pac = (k: string) => o.paced[k];
  const rows = (table: Record<string, OverheadResult['paced'][string]>, ratio: boolean) =>
    ['GET', 'POST'].flatMap((kind) =>
      ['bare', 'audited', 'peer'].map((v) => {
        const r = table[`${kind} ${v}`];
        const ratioCell = ratio
          ? ` ${v === 'bare' ? '1' : f(o.ratios[`${kind} ${v}/bare`], 3)} |`
          : ` ${ms(r?.send_lag_p99_us)} |`;
        return `| ${kind} | ${v} | ${f(r?.rps, 0)} |${ratioCell} ${ms(r?.p50_us)} | ${ms(r?.p99_us)} | ${ms(r?.p999_us)} | ${f(r?.cpu_process_us_per_req, 1)} | ${f(r?.cpu_main_us_per_req, 1)} |`;
      }),
    );
  const added = (table: typeof o.paced, kind: string, v: string) =>
    (table[`${kind} ${v}`]?.cpu_main_us_per_req ?? Number.NaN) -
    (table[`${kind} bare`]?.cpu_main_us_per_req ?? Number.NaN);
  const p99gap = (kind: string) =>
    ((pac(`${kind} audited`)?.p99_us ?? 0) - (pac(`${kind} bare`)?.p99_us ?? 0)) / 1000;
  const lines = [
    '### Overhead: bare, audited, peer',
    '',
    `The Hono example three ways, each in its own process: bare; audited by @pdaas/audit (no OpenSearch on these two cores: the worker writes the durable local spool, the embedded default); the peer stack (Hono + pino, one record per request through pino's worker transport to /dev/null). GET is \`/policies/pol-1\`; POST is \`/policies\` with a ${p.post_body_bytes} B JSON body. The generator runs in another process on the same machine. CPU is the server process's, from /proc, per answered request, after the audit worker has finished the window's events.`,
    '',
    `**Saturation** (closed loop, ${p.connections} keep-alive connections, ${p.duration} s after a ${p.warmup} s warm-up):`,
    '',
    '| request | variant | req/s | ratio to bare | p50 ms | p99 ms | p99.9 ms | CPU µs/req process | CPU µs/req main thread |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|',
    ...rows(o.saturation, true),
    '',
    `**Paced at ${p.pacedRate} req/s** (open loop for ${p.duration} s; latency from each request's scheduled send time, so a stall counts against every request behind it):`,
    '',
    '| request | variant | req/s | generator send lag p99 ms | p50 ms | p99 ms | p99.9 ms | CPU µs/req process | CPU µs/req main thread |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|',
    ...rows(o.paced, false),
    '',
    'Targets (issue #6), judged on this run:',
    '',
    ...['GET', 'POST'].map((k) => {
      const r = o.ratios[`${k} audited/bare`] ?? Number.NaN;
      return `- ${k} saturation, audited/bare ≥ 0.90: ${f(r, 3)} (${verdict(r >= 0.9)}${r < 0.9 ? `, short by ${f(0.9 - r, 3)}` : ''}); the peer kept ${f(o.ratios[`${k} peer/bare`], 3)}.`;
    }),
    ...['GET', 'POST'].map((k) => {
      const a = added(o.paced, k, 'audited');
      return `- ${k} main-thread CPU added per request ≤ 5 µs: audited +${f(a, 1)} µs at ${p.pacedRate} req/s (${verdict(a <= 5)}), +${f(added(o.saturation, k, 'audited'), 1)} µs at saturation; the peer +${f(added(o.paced, k, 'peer'), 1)} µs and +${f(added(o.saturation, k, 'peer'), 1)} µs.`;
    }),
    ...['GET', 'POST'].map((k) => {
      const g = p99gap(k);
      return `- ${k} p99 at ${p.pacedRate} req/s within 0.5 ms of bare: ${g >= 0 ? '+' : ''}${f(g)} ms (${verdict(g <= 0.5)}).`;
    }),
    `- Accounting of the audited server over the whole comparison: ${o.accounting.captured} events captured for ${o.accounting.requests} answered requests, ${o.accounting.dropped} dropped (${o.accounting.ok ? 'exact' : 'MISMATCH'}).`,
    '',
  ];
  return lines;
}

function profilesSection(ps: ProfileResult[]): string[] {
  if (ps.length === 0) return [];
  const row = (p: ProfileResult) =>
    `| ${p.name} | ${p.orgs} | ${p.duration} | ${p.rate} | ${f(p.achieved_rps, 0)} | ${f(p.latency_ms.p50)} | ${f(p.latency_ms.p99)} | ${f(p.latency_ms.p999)} | ${f(p.opensearch_write_p95_ms, 1)} | ${p.peak_in_flight} / ${f(p.peak_ring_bytes / 1024, 0)} KiB | ${p.spilled ?? 'n/a'} | ${f(p.catch_up_seconds, 1)} | ${f(p.rss_mib.start, 0)} → ${f(p.rss_mib.end, 0)} (max ${f(p.rss_mib.max, 0)}, ${f(p.rss_mib.growth_pct, 1)} %) | ${p.accounting.documents} / ${p.answered} | ${p.accounting.organizations_mismatched} | ${p.accounting.duplicate_event_ids + p.accounting.duplicate_requests} | ${p.stats?.dropped.total ?? 'n/a'} | ${p.accounting.ok ? 'exact' : 'MISMATCH'} |`;
  const sustained = ps.find((p) => p.name === 'sustained');
  return [
    '### Production load profiles, against a real OpenSearch node',
    '',
    "The audited Hono example shipping to the project's OpenSearch 2.19 dev node (1 shard, 0 replicas, 1 GiB heap) on the same two cores, driven by the paced open-loop generator with the example traffic mix (list, read, create with a JSON body, update, delete, login; a unique x-request-id each). Latency is measured from each request's scheduled time and leaves out the first fifth of the run (at most 5 s: a cold JIT, the day's index being created), which still counts for accounting. After the run the audit settles, the server closes, and OpenSearch is counted per organization against the requests the generator saw answered.",
    '',
    '| profile | orgs | s | target req/s | achieved req/s | p50 ms | p99 ms | p99.9 ms | OpenSearch write p95 ms | peak ring (events / bytes) | spilled to spool | caught up after s | RSS MiB | stored / answered | orgs mismatched | duplicates | dropped | accounting |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|',
    ...ps.map(row),
    '',
    `- Zero loss in every profile: ${verdict(ps.every((p) => p.accounting.ok))}.`,
    `- OpenSearch write p95 under 100 ms: ${ps.map((p) => `${p.name} ${f(p.opensearch_write_p95_ms, 1)} ms`).join(', ')} (${verdict(ps.every((p) => p.opensearch_write_p95_ms < 100))}; the p95 is interpolated within the histogram's buckets, as histogram_quantile does).`,
    ...ps
      .filter((p) => p.achieved_rps < p.rate * 0.98)
      .map(
        (p) =>
          `- ${p.name}: the machine sustained ${f(p.achieved_rps, 0)} of the ${p.rate} req/s asked (${p.unsent} requests never sent).`,
      ),
    sustained && sustained.duration >= 300
      ? `- RSS flat within 10 % over the ${sustained.duration} s sustained run: ${f(sustained.rss_mib.growth_pct, 1)} % (${verdict(Math.abs(sustained.rss_mib.growth_pct) <= 10)}).`
      : `- RSS flat within 10 % over 5 minutes: not judged by this run (sustained ran ${sustained?.duration ?? 0} s; \`npm run load -- --sustained 300\`).`,
    '',
  ];
}

export function loadMarkdown(run: LoadRun): string {
  return [
    `## Load (bench/load${run.short ? ', short CI version' : ''})`,
    '',
    `Run ${run.date} on ${run.machine.cpus} × ${run.machine.model}, ${run.machine.memory_gib} GiB, Node ${run.machine.node}; ${run.wall_seconds} s in all.`,
    '',
    ...(run.overhead ? overheadSection(run.overhead) : []),
    ...profilesSection(run.profiles ?? []),
  ].join('\n');
}
