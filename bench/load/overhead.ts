// The side-by-side comparison: the Hono example bare, audited (@pdaas/audit, spooling locally so
// no OpenSearch shares the two cores) and the pino peer, for GET and a 1 KB JSON POST:
// saturation throughput (closed loop) and latency at a fixed paced rate (open loop), with server
// CPU per request in both, main thread and whole process.

import {
  runGenerator,
  type ServerProcess,
  settle,
  startServer,
  stopServer,
  type Variant,
} from './children.js';
import type { GeneratorOptions, GeneratorResult } from './generator.js';
import { mainThreadCpuUs, processCpuUs } from './proc.js';

export const variants: readonly Variant[] = ['bare', 'audited', 'peer'];
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
  /** Paced only: p99 of how late the generator sent requests (a floor under every latency). */
  send_lag_p99_us?: number;
}

export interface OverheadParams {
  duration: number;
  warmup: number;
  connections: number;
  pacedRate: number;
}

export interface OverheadResult {
  parameters: OverheadParams & { post_body_bytes: number };
  saturation: Record<string, Measured>;
  paced: Record<string, Measured>;
  ratios: Record<string, number>;
  accounting: { requests: number; captured: number; dropped: number; ok: boolean };
}

async function measure(server: ServerProcess, opts: GeneratorOptions): Promise<Measured> {
  const p0 = processCpuUs(server.pid);
  const m0 = mainThreadCpuUs(server.pid);
  const r: GeneratorResult = await runGenerator(opts);
  // The audit worker (or pino's transport thread) finishes this window's events before CPU is read.
  if (server.spool !== undefined) await settle(server);
  await new Promise((res) => setTimeout(res, 300));
  return {
    rps: r.rps,
    p50_us: r.p50_us,
    p99_us: r.p99_us,
    p999_us: r.p999_us,
    completed: r.completed,
    non2xx: r.non2xx,
    errors: r.errors + r.unsent,
    cpu_process_us_per_req: (processCpuUs(server.pid) - p0) / r.completed,
    cpu_main_us_per_req: (mainThreadCpuUs(server.pid) - m0) / r.completed,
    ...(r.send_lag_p99_us !== undefined && { send_lag_p99_us: r.send_lag_p99_us }),
  };
}

const line = (label: string, m: Measured) =>
  `${label.padEnd(22)} ${m.rps.toFixed(0).padStart(6)} req/s  p50 ${(m.p50_us / 1000).toFixed(2)} ms  p99 ${(m.p99_us / 1000).toFixed(2)} ms  p99.9 ${(m.p999_us / 1000).toFixed(2)} ms  CPU/req process ${m.cpu_process_us_per_req.toFixed(1)} µs, main ${m.cpu_main_us_per_req.toFixed(1)} µs`;

export async function runOverhead(p: OverheadParams): Promise<OverheadResult> {
  const servers = {} as Record<Variant, ServerProcess>;
  for (const v of variants) servers[v] = await startServer(v, { AUDIT_OPENSEARCH_HOST: undefined });
  const saturation: Record<string, Measured> = {};
  const paced: Record<string, Measured> = {};
  let requestsToAudited = 0;
  for (const kind of kinds) {
    for (const v of variants) {
      const server = servers[v];
      const base = { port: server.port, request: requests[kind], connections: p.connections };
      const warm = await runGenerator({ ...base, mode: 'closed', duration: p.warmup });
      const sat = await measure(server, { ...base, mode: 'closed', duration: p.duration });
      const open = await measure(server, {
        ...base,
        mode: 'paced',
        rate: p.pacedRate,
        duration: p.duration,
        connections: 256,
      });
      saturation[`${kind} ${v}`] = sat;
      paced[`${kind} ${v}`] = open;
      if (v === 'audited') requestsToAudited += warm.completed + sat.completed + open.completed;
      console.log(line(`${kind} ${v} saturation`, sat));
      console.log(line(`${kind} ${v} @${p.pacedRate}/s`, open));
    }
  }
  const stopped = {} as Record<Variant, Awaited<ReturnType<typeof stopServer>>>;
  for (const v of variants) stopped[v] = await stopServer(servers[v]);

  const ratios: Record<string, number> = {};
  for (const kind of kinds)
    for (const v of ['audited', 'peer'])
      ratios[`${kind} ${v}/bare`] =
        (saturation[`${kind} ${v}`]?.rps as number) / (saturation[`${kind} bare`]?.rps as number);
  const stats = stopped.audited.stats;
  const accounting = {
    requests: requestsToAudited,
    captured: stats?.captured ?? -1,
    dropped: stats?.dropped.total ?? -1,
    ok: stats?.captured === requestsToAudited && stats?.dropped.total === 0 && stats.inFlight === 0,
  };
  console.log(
    `accounting (audited): ${accounting.captured} captured for ${accounting.requests} answered requests, ${accounting.dropped} dropped: ${accounting.ok ? 'OK' : 'MISMATCH'}`,
  );
  console.log(
    Object.entries(ratios)
      .map(([k, r]) => `${k} ${r.toFixed(3)}`)
      .join(', '),
  );
  return { parameters: { ...p, post_body_bytes: body1k.length }, saturation, paced, ratios, accounting };
}
