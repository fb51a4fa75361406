// The side-by-side comparison, for Hono and for Express (apps.ts): the example app bare, behind a
// pass-through middleware, audited (@pdaas/audit, spooling locally so no OpenSearch shares the
// two cores) and with the pino peer, for GET and a 1 KB JSON POST: saturation throughput (closed
// loop) and latency at a fixed paced rate (open loop), with the server's CPU per request (main
// thread and whole process) and its main thread's GC time and heap allocation per request.
// Variants are measured in rounds, each round in a rotated order, every server up all along; a
// figure is the median over rounds, and a difference between variants (the library's own cost:
// audited − passthrough) is the median of the differences within each round.
import { frameworks as allFrameworks, type Framework, type Variant, variants } from './apps.js';
import {
  type GeneratorProcess,
  type ServerProcess,
  settle,
  startGenerator,
  startServer,
  stopServer,
} from './children.js';
import type { GeneratorOptions } from './generator.js';
import { mainThreadCpuUs, processCpuUs } from './proc.js';
import type { WindowStats } from './server.js';

export { variants };
export const kinds = ['GET', 'POST'] as const;
export type Kind = (typeof kinds)[number];

const body1k = JSON.stringify({ name: 'policy', rules: 'x'.repeat(990) });
const requests = {
  GET: { method: 'GET', path: '/policies/pol-1', headers: { 'x-organization-id': 'org-017' } },
  POST: {
    method: 'POST',
    path: '/policies',
    headers: { 'x-organization-id': 'org-017', 'content-type': 'application/json' },
    body: body1k,
  },
};

export interface Measured {
  rps: number;
  p50_us: number;
  p99_us: number;
  p999_us: number;
  completed: number;
  non2xx: number;
  errors: number;
  cpu_process_us_per_req: number;
  cpu_main_us_per_req: number;
  /** Main-thread GC pauses ('gc' performance entries) in the window, µs per request. */
  gc_us_per_req: number;
  /** GCs of the main thread per 1,000 requests. */
  gcs_per_kreq: number;
  /** Main-isolate heap allocated in the window (used-heap growth + bytes GC freed), per request. */
  alloc_bytes_per_req: number;
  /** Paced only: p99 of how late the generator sent requests (a floor under every latency). */
  send_lag_p99_us?: number;
}

/** What one variant costs over the pass-through middleware: per request, median over rounds. */
export interface OwnCost {
  main_us: number;
  /** The difference in each round, for the spread. */
  main_us_rounds: number[];
  process_us: number;
  gc_us: number;
  alloc_bytes: number;
}

export interface OverheadParams {
  duration: number;
  warmup: number;
  connections: number;
  /** The paced rate of the Hono comparison. */
  pacedRate: number;
  /** Express's (it saturates at a fraction of Hono's rate; a paced window must stay below every variant's saturation). */
  expressPacedRate: number;
  rounds: number;
  frameworks: readonly Framework[];
}

export interface Accounting {
  requests: number;
  captured: number;
  dropped: number;
  /** Drops by reason (absent in results from before it was recorded). */
  dropped_by_reason?: Record<string, number>;
  ok: boolean;
}

export interface OverheadResult {
  parameters: OverheadParams & { post_body_bytes: number };
  variants: readonly Variant[];
  /** Medians over rounds, keyed `<framework> <kind> <variant>`. */
  saturation: Record<string, Measured>;
  paced: Record<string, Measured>;
  /** Every round's figures, same keys. */
  rounds: { saturation: Record<string, Measured[]>; paced: Record<string, Measured[]> };
  /** audited and peer over passthrough, keyed `<framework> <kind> <variant>`. */
  own_cost: { saturation: Record<string, OwnCost>; paced: Record<string, OwnCost> };
  /** Saturation req/s over bare, median of the rounds' ratios: `<framework> <kind> <variant>/bare`. */
  ratios: Record<string, number>;
  /** Both audited servers together; each in by_framework. */
  accounting: Accounting & { by_framework: Record<string, Accounting> };
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0
    ? Number.NaN
    : s.length % 2
      ? (s[m] as number)
      : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function measure(
  server: ServerProcess,
  gen: GeneratorProcess,
  opts: GeneratorOptions,
): Promise<Measured> {
  await server.ask({ window: 'start' }, 'window');
  const p0 = processCpuUs(server.pid);
  const m0 = mainThreadCpuUs(server.pid);
  const r = await gen.run(opts);
  // The audit worker (or pino's transport thread) finishes this window's events before CPU is read.
  if (server.spool !== undefined) await settle(server);
  await sleep(300);
  const p1 = processCpuUs(server.pid);
  const m1 = mainThreadCpuUs(server.pid);
  const { window: w } = await server.ask<{ window: WindowStats }>({ window: 'end' }, 'window');
  const n = r.completed;
  return {
    rps: r.rps,
    p50_us: r.p50_us,
    p99_us: r.p99_us,
    p999_us: r.p999_us,
    completed: n,
    non2xx: r.non2xx,
    errors: r.errors + r.unsent,
    cpu_process_us_per_req: (p1 - p0) / n,
    cpu_main_us_per_req: (m1 - m0) / n,
    gc_us_per_req: (w.gc_ms * 1000) / n,
    gcs_per_kreq: (w.gc_count * 1000) / n,
    alloc_bytes_per_req: w.allocated_bytes / n,
    ...(r.send_lag_p99_us !== undefined && { send_lag_p99_us: r.send_lag_p99_us }),
  };
}

const line = (label: string, m: Measured) =>
  `${label.padEnd(34)} ${m.rps.toFixed(0).padStart(6)} req/s  p50 ${(m.p50_us / 1000).toFixed(2)} ms  p99 ${(m.p99_us / 1000).toFixed(2)} ms  CPU/req process ${m.cpu_process_us_per_req.toFixed(1)} µs, main ${m.cpu_main_us_per_req.toFixed(1)} µs, GC ${m.gc_us_per_req.toFixed(2)} µs, alloc ${m.alloc_bytes_per_req.toFixed(0)} B`;

/** Each field's median over the rounds. */
function medianOf(ms: Measured[]): Measured {
  const out = {} as Record<string, number>;
  for (const key of Object.keys(ms[0] as Measured)) {
    out[key] = median(ms.map((m) => (m as unknown as Record<string, number>)[key] as number));
  }
  return out as unknown as Measured;
}

function ownCost(rounds: Record<string, Measured[]>, fw: Framework, kind: Kind, v: Variant): OwnCost {
  const mine = rounds[`${fw} ${kind} ${v}`] ?? [];
  const base = rounds[`${fw} ${kind} passthrough`] ?? [];
  const diff = (field: keyof Measured) =>
    mine.map((m, i) => (m[field] as number) - ((base[i]?.[field] as number | undefined) ?? Number.NaN));
  const main = diff('cpu_main_us_per_req');
  return {
    main_us: median(main),
    main_us_rounds: main,
    process_us: median(diff('cpu_process_us_per_req')),
    gc_us: median(diff('gc_us_per_req')),
    alloc_bytes: median(diff('alloc_bytes_per_req')),
  };
}

export async function runOverhead(
  p: Omit<OverheadParams, 'frameworks' | 'rounds'> & Partial<Pick<OverheadParams, 'frameworks' | 'rounds'>>,
): Promise<OverheadResult> {
  const params: OverheadParams = { rounds: 1, frameworks: allFrameworks, ...p };
  const servers: Record<string, ServerProcess> = {};
  await Promise.all(
    params.frameworks.flatMap((fw) =>
      variants.map(async (v) => {
        servers[`${fw} ${v}`] = await startServer(v, { AUDIT_OPENSEARCH_HOST: undefined }, fw);
      }),
    ),
  );
  const pacedRate = (fw: Framework) => (fw === 'express' ? params.expressPacedRate : params.pacedRate);
  const gen = await startGenerator();
  const sat: Record<string, Measured[]> = {};
  const pac: Record<string, Measured[]> = {};
  const requestsToAudited: Record<string, number> = {};
  try {
    for (let round = 0; round < params.rounds; round++) {
      // A rotated order each round, so no variant always follows the same one.
      const order = variants.map((_, i) => variants[(i + round) % variants.length] as Variant);
      for (const fw of params.frameworks) {
        for (const kind of kinds) {
          for (const v of order) {
            const server = servers[`${fw} ${v}`] as ServerProcess;
            const key = `${fw} ${kind} ${v}`;
            const base = { port: server.port, request: requests[kind], connections: params.connections };
            const warm = await gen.run({ ...base, mode: 'closed', duration: params.warmup });
            const s = await measure(server, gen, { ...base, mode: 'closed', duration: params.duration });
            const o = await measure(server, gen, {
              ...base,
              mode: 'paced',
              rate: pacedRate(fw),
              duration: params.duration,
              connections: 256,
            });
            sat[key] = [...(sat[key] ?? []), s];
            pac[key] = [...(pac[key] ?? []), o];
            if (v === 'audited')
              requestsToAudited[fw] =
                (requestsToAudited[fw] ?? 0) + warm.completed + s.completed + o.completed;
            const tag = params.rounds > 1 ? ` (round ${round + 1})` : '';
            console.log(line(`${key} saturation${tag}`, s));
            console.log(line(`${key} @${pacedRate(fw)}/s${tag}`, o));
          }
        }
      }
    }
  } finally {
    gen.stop();
  }
  const stopped: Record<string, Awaited<ReturnType<typeof stopServer>>> = {};
  for (const [k, server] of Object.entries(servers)) stopped[k] = await stopServer(server);

  const saturation: Record<string, Measured> = {};
  const paced: Record<string, Measured> = {};
  for (const [k, ms] of Object.entries(sat)) saturation[k] = medianOf(ms);
  for (const [k, ms] of Object.entries(pac)) paced[k] = medianOf(ms);
  const ratios: Record<string, number> = {};
  const own = { saturation: {} as Record<string, OwnCost>, paced: {} as Record<string, OwnCost> };
  const byFramework: Record<string, Accounting> = {};
  for (const fw of params.frameworks) {
    for (const kind of kinds) {
      for (const v of variants) {
        if (v === 'bare') continue;
        const bare = sat[`${fw} ${kind} bare`] ?? [];
        ratios[`${fw} ${kind} ${v}/bare`] = median(
          (sat[`${fw} ${kind} ${v}`] ?? []).map((m, i) => m.rps / (bare[i]?.rps ?? Number.NaN)),
        );
        if (v === 'passthrough') continue;
        own.saturation[`${fw} ${kind} ${v}`] = ownCost(sat, fw, kind, v);
        own.paced[`${fw} ${kind} ${v}`] = ownCost(pac, fw, kind, v);
      }
    }
    const stats = stopped[`${fw} audited`]?.stats;
    const requests = requestsToAudited[fw] ?? 0;
    byFramework[fw] = {
      requests,
      captured: stats?.captured ?? -1,
      dropped: stats?.dropped.total ?? -1,
      dropped_by_reason: Object.fromEntries(
        Object.entries(stats?.dropped.byReason ?? {}).filter(([, n]) => n > 0),
      ),
      ok: stats?.captured === requests && stats?.dropped.total === 0 && stats.inFlight === 0,
    };
  }
  const all = Object.values(byFramework);
  const accounting = {
    requests: all.reduce((n, a) => n + a.requests, 0),
    captured: all.reduce((n, a) => n + a.captured, 0),
    dropped: all.reduce((n, a) => n + a.dropped, 0),
    ok: all.every((a) => a.ok),
    by_framework: byFramework,
  };
  for (const [fw, a] of Object.entries(byFramework))
    console.log(
      `accounting (${fw} audited): ${a.captured} captured for ${a.requests} answered requests, ${a.dropped} dropped${a.dropped > 0 ? ` ${JSON.stringify(a.dropped_by_reason)}` : ''}: ${a.ok ? 'OK' : 'MISMATCH'}`,
    );
  for (const [k, c] of Object.entries(own.saturation))
    console.log(
      `${k} − passthrough, main thread µs/req: saturation ${c.main_us.toFixed(1)}, paced ${own.paced[k]?.main_us.toFixed(1)}`,
    );
  console.log(
    Object.entries(ratios)
      .map(([k, r]) => `${k} ${r.toFixed(3)}`)
      .join(', '),
  );
  return {
    parameters: { ...params, post_body_bytes: body1k.length },
    variants,
    saturation,
    paced,
    rounds: { saturation: sat, paced: pac },
    own_cost: own,
    ratios,
    accounting,
  };
}
