// Markdown for one load run (bench/results/load.json → load.md and the load part of BENCHMARKS.md),
// with each of issue #6's targets judged from the run's own numbers.
import type { Measured, OverheadResult, OwnCost } from './overhead.js';
import type { ProfileResult } from './profiles.js';

export interface LoadRun {
  date: string;
  machine: { cpus: number; model: string; memory_gib: number; node: string };
  short: boolean;
  /** A `--cluster` run: the profiles against the three-node cluster. */
  cluster?: boolean;
  wall_seconds: number;
  overhead?: OverheadResult;
  profiles: ProfileResult[];
}

const f = (n: number | undefined, digits = 2) =>
  n !== undefined && Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
const ms = (us: number | undefined) => f(us === undefined ? undefined : us / 1000);
const verdict = (ok: boolean) => (ok ? 'met' : 'missed');

const frameworkName: Record<string, string> = { hono: 'Hono', express: 'Express 5' };

function overheadSection(o: OverheadResult): string[] {
  const p = o.parameters;
  // Results written before the pass-through variant: Hono only, keys without the framework.
  const legacy = o.variants === undefined;
  const fws = legacy ? ['hono'] : [...p.frameworks];
  const vs: readonly string[] = o.variants ?? ['bare', 'audited', 'peer'];
  const key = (fw: string, kind: string, v: string) => (legacy ? `${kind} ${v}` : `${fw} ${kind} ${v}`);
  const rounds = p.rounds ?? 1;
  const rateOf = (fw: string) => (fw === 'express' ? (p.expressPacedRate ?? p.pacedRate) : p.pacedRate);
  const peerName = (fw: string) => (fw === 'express' ? 'pino-http' : 'pino');
  const rows = (table: Record<string, Measured>, fw: string, ratio: boolean) =>
    ['GET', 'POST'].flatMap((kind) =>
      vs.map((v) => {
        const r = table[key(fw, kind, v)];
        const ratioCell = ratio
          ? ` ${v === 'bare' ? '1' : f(o.ratios[`${key(fw, kind, v)}/bare`], 3)} |`
          : ` ${ms(r?.send_lag_p99_us)} |`;
        return `| ${kind} | ${v === 'peer' ? `peer (${peerName(fw)})` : v} | ${f(r?.rps, 0)} |${ratioCell} ${ms(r?.p50_us)} | ${ms(r?.p99_us)} | ${ms(r?.p999_us)} | ${f(r?.cpu_process_us_per_req, 1)} | ${f(r?.cpu_main_us_per_req, 1)} | ${f(r?.gc_us_per_req, 2)} | ${f(r?.alloc_bytes_per_req, 0)} |`;
      }),
    );
  const head = (ratio: boolean) => [
    `| request | variant | req/s | ${ratio ? 'ratio to bare' : 'generator send lag p99 ms'} | p50 ms | p99 ms | p99.9 ms | CPU µs/req process | CPU µs/req main thread | GC µs/req main thread | heap B/req main thread |`,
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  const lines = [
    `### Overhead: bare, pass-through, audited, peer (${fws.map((fw) => frameworkName[fw] ?? fw).join(' and ')})`,
    '',
    `The example app (examples/<framework>/app.ts) four ways, each in its own process: bare; behind a pass-through middleware that only calls next() (\`async (c, next) => { await next() }\` on Hono, \`(req, res, next) => next()\` on Express: what any middleware costs); audited by @pdaas/audit (no OpenSearch on these two cores: the worker writes the durable local spool, the embedded default); the peer stack, writing one record per request through pino's worker transport to /dev/null (Hono: a middleware logging what the audit captures; Express: pino-http with its default serializers plus the parsed body). Each middleware sits where the audit sits in the audited app. GET is \`/policies/pol-1\`; POST is \`/policies\` with a ${p.post_body_bytes} B JSON body. The generator runs in another process on the same machine.`,
    '',
    `How the columns are computed, per answered request of one measured window (from just before the generator starts until the audit worker has an outcome for the window's events, plus 300 ms): **CPU** from /proc (utime + stime of the process, and of its main thread); **GC** the summed duration of the main thread's \`gc\` performance entries (PerformanceObserver in the server); **heap B** the bytes the main thread's V8 heap allocated, as the used heap's growth over the window plus what every GC in it freed (used before minus used after, from v8.GCProfiler), so garbage collected in the window counts too; off-heap memory (Buffer stores, the ring's SharedArrayBuffer) is not in it. ${rounds > 1 ? `Each figure is the median of ${rounds} rounds; every round measures all variants in a rotated order, and a difference between variants is the median of the differences within each round.` : 'One round.'}`,
    '',
  ];
  for (const fw of fws) {
    lines.push(
      `**${frameworkName[fw] ?? fw}, saturation** (closed loop, ${p.connections} keep-alive connections, ${p.duration} s after a ${p.warmup} s warm-up):`,
      '',
      ...head(true),
      ...rows(o.saturation, fw, true),
      '',
      `**${frameworkName[fw] ?? fw}, paced at ${rateOf(fw)} req/s** (open loop for ${p.duration} s; latency from each request's scheduled send time, so a stall counts against every request behind it):`,
      '',
      ...head(false),
      ...rows(o.paced, fw, false),
      '',
    );
    const behind = ['GET', 'POST'].flatMap((kind) =>
      vs.filter((v) => (o.paced[key(fw, kind, v)]?.rps ?? 0) < rateOf(fw) * 0.98).map((v) => `${kind} ${v}`),
    );
    if (behind.length > 0)
      lines.push(
        `Below the paced rate (the server saturated, so these rows are not a paced measurement): ${behind.join(', ')}.`,
        '',
      );
  }
  if (!o.own_cost) return lines;
  const own = o.own_cost;
  const spread = (c: OwnCost | undefined) =>
    c && c.main_us_rounds.length > 1 ? ` (${c.main_us_rounds.map((x) => f(x, 1)).join(', ')})` : '';
  lines.push(
    "**Each library's own cost over the pass-through middleware**, per request (variant minus pass-through; the rounds' differences in parentheses):",
    '',
    '| framework | request | load | @pdaas/audit main thread µs | peer main thread µs | @pdaas/audit process µs | peer process µs | @pdaas/audit GC µs | peer GC µs | @pdaas/audit heap B | peer heap B |',
    '|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|',
  );
  for (const fw of fws)
    for (const kind of ['GET', 'POST'])
      for (const [load, table] of [
        ['saturation', own.saturation],
        [`${rateOf(fw)}/s`, own.paced],
      ] as const) {
        const a = table[key(fw, kind, 'audited')];
        const b = table[key(fw, kind, 'peer')];
        lines.push(
          `| ${frameworkName[fw] ?? fw} | ${kind} | ${load} | ${f(a?.main_us, 1)}${spread(a)} | ${f(b?.main_us, 1)}${spread(b)} | ${f(a?.process_us, 1)} | ${f(b?.process_us, 1)} | ${f(a?.gc_us, 2)} | ${f(b?.gc_us, 2)} | ${f(a?.alloc_bytes, 0)} | ${f(b?.alloc_bytes, 0)} |`,
        );
      }
  lines.push('', 'Targets (issue #14), judged on this run:', '');
  for (const fw of fws) {
    const name = frameworkName[fw] ?? fw;
    for (const kind of ['GET', 'POST']) {
      const limit = kind === 'GET' ? 3 : 5;
      const a = own.saturation[key(fw, kind, 'audited')]?.main_us ?? Number.NaN;
      const b = own.saturation[key(fw, kind, 'peer')]?.main_us ?? Number.NaN;
      lines.push(
        `- ${name} ${kind}: own main-thread cost at saturation ≤ ${limit} µs and below the peer's: +${f(a, 1)} µs against ${peerName(fw)}'s +${f(b, 1)} µs (${verdict(a <= limit && a < b)}).`,
      );
      const ra = o.ratios[`${key(fw, kind, 'audited')}/bare`] ?? Number.NaN;
      const rb = o.ratios[`${key(fw, kind, 'peer')}/bare`] ?? Number.NaN;
      lines.push(
        `- ${name} ${kind}: saturation throughput audited/bare ≥ peer/bare: ${f(ra, 3)} against ${f(rb, 3)} (${verdict(ra >= rb)}).`,
      );
      const gap =
        ((o.paced[key(fw, kind, 'audited')]?.p99_us ?? Number.NaN) -
          (o.paced[key(fw, kind, 'bare')]?.p99_us ?? Number.NaN)) /
        1000;
      const saturated = ['bare', 'audited'].some(
        (v) => (o.paced[key(fw, kind, v)]?.rps ?? 0) < rateOf(fw) * 0.98,
      );
      lines.push(
        `- ${name} ${kind}: p99 at ${rateOf(fw)} req/s within 0.5 ms of bare: ${gap >= 0 ? '+' : ''}${f(gap)} ms (${saturated ? 'not judged: a server fell below the paced rate' : verdict(gap <= 0.5)}).`,
      );
      const cpu = (t: Record<string, Measured>, v: string) =>
        t[key(fw, kind, v)]?.cpu_process_us_per_req ?? Number.NaN;
      const below =
        cpu(o.saturation, 'audited') < cpu(o.saturation, 'peer') &&
        cpu(o.paced, 'audited') < cpu(o.paced, 'peer');
      lines.push(
        `- ${name} ${kind}: whole-process CPU per request below the peer's (spool sink): ${f(cpu(o.saturation, 'audited'), 1)} against ${f(cpu(o.saturation, 'peer'), 1)} µs at saturation, ${f(cpu(o.paced, 'audited'), 1)} against ${f(cpu(o.paced, 'peer'), 1)} µs at ${rateOf(fw)} req/s (${verdict(below)}).`,
      );
    }
  }
  const acc = o.accounting;
  const per = acc.by_framework
    ? Object.entries(acc.by_framework)
        .map(([fw, a]) => `${frameworkName[fw] ?? fw} ${a.captured} of ${a.requests}`)
        .join(', ')
    : '';
  lines.push(
    `- Accounting of the audited servers over the whole comparison: ${acc.captured} events captured for ${acc.requests} answered requests${per ? ` (${per})` : ''}, ${acc.dropped} dropped (${acc.ok ? 'exact' : 'MISMATCH'}).`,
    '',
  );
  return lines;
}

/** The guide's data nodes (deployment-guide.txt): three r6g.2xlarge, 8 vCPU each. */
const GUIDE_NODES = 3;
const GUIDE_VCPUS_PER_NODE = 8;

function cpuRows(ps: ProfileResult[]): string[] {
  const measured = ps.filter((p) => p.cpu !== undefined);
  if (measured.length === 0) return [];
  const pct = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : f(x, 0));
  return [
    'Where the CPU went, from /proc over each profile (its traffic and the catch-up after it), per answered request and as shares of both cores:',
    '',
    '| profile | s | app (main + audit worker) µs/req | OpenSearch JVMs µs/req | app % | OpenSearch % | other (generator, kernel) % | idle % | steal % |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|',
    ...measured.map((p) => {
      const c = p.cpu as NonNullable<ProfileResult['cpu']>;
      const m = c.machine_pct;
      return `| ${p.name} | ${f(c.seconds, 0)} | ${f(c.app_us_per_request, 1)} | ${c.opensearch_us_per_request === null ? 'n/a' : f(c.opensearch_us_per_request, 1)} | ${pct(m.app)} | ${pct(m.opensearch)} | ${pct(m.other)} | ${pct(m.idle)} | ${pct(m.steal)} |`;
    }),
    '',
  ];
}

/** How the cluster's measured cost per event scales to the guide's nodes (CPU only: the bound it gives is an upper one). */
function scalingLines(ps: ProfileResult[]): string[] {
  const costs = ps.flatMap((p) =>
    p.cpu?.opensearch_us_per_request ? [{ name: p.name, us: p.cpu.opensearch_us_per_request }] : [],
  );
  if (costs.length === 0) return [];
  const vcpus = GUIDE_NODES * GUIDE_VCPUS_PER_NODE;
  const cheapest = costs.reduce((a, b) => (b.us < a.us ? b : a));
  const dearest = costs.reduce((a, b) => (b.us > a.us ? b : a));
  const bound = (us: number) => f((vcpus * 1e6) / us, 0);
  return [
    `- Scaling to the guide's cluster (${GUIDE_NODES} × r6g.2xlarge, ${vcpus} vCPUs): here the three JVMs spent ${f(cheapest.us, 1)} (${cheapest.name}) to ${f(dearest.us, 1)} (${dearest.name}) µs of CPU per event, primary and replica writes together. At that cost ${vcpus} vCPUs index at most ${bound(dearest.us)} to ${bound(cheapest.us)} events/s with every core busy, and two thirds of it with one node lost. It is an upper bound from CPU alone: the cost per event here includes three JVMs' garbage collection and their competition with the app for two cores, and a Graviton2 vCPU's speed against this machine's is not measured; disk and network, which do not limit this machine, may limit that one first.`,
  ];
}

function profilesSection(ps: ProfileResult[], cluster: boolean): string[] {
  if (ps.length === 0) return [];
  const row = (p: ProfileResult) =>
    `| ${p.name} | ${p.orgs} | ${p.duration} | ${p.rate} | ${f(p.achieved_rps, 0)} | ${f(p.latency_ms.p50)} | ${f(p.latency_ms.p99)} | ${f(p.latency_ms.p999)} | ${f(p.opensearch_write_p95_ms, 1)} | ${p.peak_in_flight} / ${f(p.peak_ring_bytes / 1024, 0)} KiB | ${p.spilled ?? 'n/a'} | ${f(p.catch_up_seconds, 1)} | ${f(p.rss_mib.start, 0)} → ${f(p.rss_mib.end, 0)} (max ${f(p.rss_mib.max, 0)}, ${f(p.rss_mib.growth_pct, 1)} %) | ${p.accounting.documents} / ${p.answered} | ${p.accounting.organizations_mismatched} | ${p.accounting.duplicate_event_ids + p.accounting.duplicate_requests} | ${p.stats?.dropped.total ?? 'n/a'} | ${p.accounting.ok ? 'exact' : 'MISMATCH'} |`;
  const sustained = ps.find((p) => p.name === 'sustained');
  const shape = ps[0]?.opensearch ?? { nodes: 1, shards: 1, replicas: 0 };
  const intro = cluster
    ? `The same profiles against the deployment guide's shape on this machine: a cluster of ${shape.nodes} OpenSearch 2.19 nodes started by the run (\`DevCluster\`, 512 MiB heap each), today's index with ${shape.shards} primaries and ${shape.replicas} replica, the app given every node (\`AUDIT_OPENSEARCH_HOST\` as a list). The app, its audit worker, the generator and three JVMs share the two cores, so these figures say what this machine sustains, not what the guide's cluster would.`
    : `The audited Hono example shipping to the project's OpenSearch 2.19 dev node (${shape.shards} shard, ${shape.replicas} replicas, 1 GiB heap) on the same two cores, driven by the paced open-loop generator with the example traffic mix (list, read, create with a JSON body, update, delete, login; a unique x-request-id each). Latency is measured from each request's scheduled time and leaves out the first fifth of the run (at most 5 s: a cold JIT, the day's index being created), which still counts for accounting. After the run the audit settles, the server closes, and OpenSearch is counted per organization against the requests the generator saw answered.`;
  return [
    cluster
      ? `### Production load profiles, against a ${shape.nodes}-node cluster (\`npm run load -- --cluster\`)`
      : '### Production load profiles, against a real OpenSearch node',
    '',
    intro,
    '',
    '| profile | orgs | s | target req/s | achieved req/s | p50 ms | p99 ms | p99.9 ms | OpenSearch write p95 ms | peak ring (events / bytes) | spilled to spool | caught up after s | RSS MiB | stored / answered | orgs mismatched | duplicates | dropped | accounting |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|',
    ...ps.map(row),
    '',
    ...cpuRows(ps),
    `- Zero loss in every profile: ${verdict(ps.every((p) => p.accounting.ok))}.`,
    `- OpenSearch write p95 under 100 ms: ${ps.map((p) => `${p.name} ${f(p.opensearch_write_p95_ms, 1)} ms`).join(', ')} (${verdict(ps.every((p) => p.opensearch_write_p95_ms < 100))}; the p95 is interpolated within the histogram's buckets, as histogram_quantile does).`,
    ...ps
      .filter((p) => p.achieved_rps < p.rate * 0.98)
      .map(
        (p) =>
          `- ${p.name}: the machine sustained ${f(p.achieved_rps, 0)} of the ${p.rate} req/s asked (${p.unsent} requests never sent).`,
      ),
    ...(cluster
      ? scalingLines(ps)
      : [
          sustained && sustained.duration >= 300
            ? `- RSS flat within 10 % over the ${sustained.duration} s sustained run: ${f(sustained.rss_mib.growth_pct, 1)} % (${verdict(Math.abs(sustained.rss_mib.growth_pct) <= 10)}).`
            : `- RSS flat within 10 % over 5 minutes: not judged by this run (sustained ran ${sustained?.duration ?? 0} s; \`npm run load -- --sustained 300\`).`,
        ]),
    '',
  ];
}

export function loadMarkdown(run: LoadRun): string {
  return [
    run.cluster
      ? `## Load against the cluster (bench/load --cluster${run.short ? ', short' : ''})`
      : `## Load (bench/load${run.short ? ', short CI version' : ''})`,
    '',
    `Run ${run.date} on ${run.machine.cpus} × ${run.machine.model}, ${run.machine.memory_gib} GiB, Node ${run.machine.node}; ${run.wall_seconds} s in all.`,
    '',
    ...(run.overhead ? overheadSection(run.overhead) : []),
    ...profilesSection(run.profiles ?? [], run.cluster === true),
  ].join('\n');
}
