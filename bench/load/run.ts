// `npm run load`: the Hono example served three ways (bare, audited with @pdaas/audit, and the
// peer stack Hono + pino worker transport), each in its own process, driven to saturation by
// bench/load/generator.ts in another process, GET then 1 KB POST, variants interleaved in one run.
// Server CPU per request comes from /proc (whole process, and the main thread's own counters).
// Writes bench/results/load.json; BENCHMARKS.md is generated from it by bench/summarize.ts.
//   tsx bench/load/run.ts [--duration 10] [--warmup 2] [--connections 32]
import { type ChildProcess, execFile as execFileCb, execFileSync, fork } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs, promisify } from 'node:util';

const execFile = promisify(execFileCb);
const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: process.env.LOAD_DURATION ?? '10' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '32' },
  },
});
const duration = Number(values.duration);
const warmup = Number(values.warmup);
const connections = Number(values.connections);
const variants = ['bare', 'audited', 'peer'] as const;
type Variant = (typeof variants)[number];
const tick = 1e6 / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
const here = (p: string) => new URL(p, import.meta.url).pathname;

/** utime + stime of a process (or one of its threads), µs. */
function cpuUs(pid: number, tid = pid): number {
  const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * tick; // fields 14 and 15, counted from field 3
}
function processCpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * tick;
}

interface Server {
  child: ChildProcess;
  port: number;
  spool?: string;
}
const next = <T>(child: ChildProcess, key: string) =>
  new Promise<T>((resolve) => {
    const on = (m: Record<string, unknown>) => {
      if (key in m) {
        child.off('message', on);
        resolve(m as T);
      }
    };
    child.on('message', on);
  });

async function start(variant: Variant): Promise<Server> {
  const child = fork(here('./server.ts'), [variant], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
  const ready = await next<{ port: number; spool?: string }>(child, 'ready');
  return { child, ...ready };
}

interface GenResult {
  completed: number;
  non2xx: number;
  errors: number;
  statuses: Record<string, number>;
  seconds: number;
  rps: number;
  p50_us: number;
  p99_us: number;
}
const body1k = JSON.stringify({ name: 'policy', rules: 'x'.repeat(990) });
const requests = {
  GET: { method: 'GET', path: '/policies/pol-1', headers: { 'x-organization-id': 'org-017' } },
  POST: {
    method: 'POST',
    path: '/policies',
    headers: { 'x-organization-id': 'org-017', 'content-type': 'application/json' },
    body: body1k,
  },
} as const;

async function generate(port: number, kind: keyof typeof requests, seconds: number): Promise<GenResult> {
  const opts = { port, ...requests[kind], connections, duration: seconds };
  const { stdout } = await execFile(
    process.execPath,
    ['--import', 'tsx', here('./generator.ts'), JSON.stringify(opts)],
    { maxBuffer: 1 << 20 },
  );
  return JSON.parse(stdout) as GenResult;
}

const servers = {} as Record<Variant, Server>;
for (const v of variants) servers[v] = await start(v);
if (servers.audited.spool)
  console.log(`audited: no AUDIT_OPENSEARCH_HOST, events go to the local spool in ${servers.audited.spool}`);
else console.log(`audited: shipping to OpenSearch at ${process.env.AUDIT_OPENSEARCH_HOST}`);

const sent: Record<Variant, { completed: number; non2xx: number; errors: number }> = {
  bare: { completed: 0, non2xx: 0, errors: 0 },
  audited: { completed: 0, non2xx: 0, errors: 0 },
  peer: { completed: 0, non2xx: 0, errors: 0 },
};
const count = (v: Variant, r: GenResult) => {
  sent[v].completed += r.completed;
  sent[v].non2xx += r.non2xx;
  sent[v].errors += r.errors;
};
const results: Record<string, Record<string, unknown>> = {};
for (const kind of ['GET', 'POST'] as const) {
  for (const v of variants) {
    const { child, port } = servers[v];
    const pid = child.pid as number;
    count(v, await generate(port, kind, warmup));
    const p0 = processCpuUs(pid);
    const m0 = cpuUs(pid);
    const r = await generate(port, kind, duration);
    count(v, r);
    // Let the audit worker (or pino's transport thread) finish this window's events before reading.
    if (v === 'audited') {
      for (let i = 0; i < 50; i++) {
        child.send({ stats: true });
        if ((await next<{ inFlight: number }>(child, 'inFlight')).inFlight === 0) break;
        await new Promise((res) => setTimeout(res, 100));
      }
    }
    await new Promise((res) => setTimeout(res, 300));
    const processUs = (processCpuUs(pid) - p0) / r.completed;
    const mainUs = (cpuUs(pid) - m0) / r.completed;
    results[`${kind} ${v}`] = {
      rps: r.rps,
      p50_us: r.p50_us,
      p99_us: r.p99_us,
      completed: r.completed,
      non2xx: r.non2xx,
      errors: r.errors,
      cpu_process_us_per_req: processUs,
      cpu_main_us_per_req: mainUs,
    };
    console.log(
      `${kind} ${v.padEnd(7)} ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${(r.p50_us / 1000).toFixed(2)} ms  p99 ${(r.p99_us / 1000).toFixed(2)} ms  CPU/req process ${processUs.toFixed(1)} µs, main ${mainUs.toFixed(1)} µs`,
    );
  }
}

const stopped = {} as Record<Variant, { stats?: { captured: number; dropped: { total: number } } }>;
for (const v of variants) {
  const done = next<(typeof stopped)[Variant]>(servers[v].child, 'stopped');
  servers[v].child.send({ stop: true });
  stopped[v] = await done;
}

const ratios: Record<string, number> = {};
const rps = (k: string) => results[k]?.rps as number;
for (const kind of ['GET', 'POST'])
  for (const v of ['audited', 'peer'])
    ratios[`${kind} ${v}/bare`] = rps(`${kind} ${v}`) / rps(`${kind} bare`);

const stats = stopped.audited.stats;
const expected = sent.audited.completed - sent.audited.non2xx;
const accounting = {
  requests_completed: sent.audited.completed,
  non2xx: sent.audited.non2xx,
  captured: stats?.captured ?? -1,
  dropped_total: stats?.dropped.total ?? -1,
  ok: stats?.captured === expected && stats?.dropped.total === 0,
};
console.log(
  `accounting (audited): ${accounting.captured} captured for ${expected} completed 2xx requests, ${accounting.dropped_total} dropped: ${accounting.ok ? 'OK' : 'MISMATCH'}`,
);
console.log(
  Object.entries(ratios)
    .map(([k, r]) => `${k} ${r.toFixed(3)}`)
    .join(', '),
);

const out = {
  benchmark: 'load',
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model ?? '', node: process.version },
  parameters: { duration_s: duration, warmup_s: warmup, connections, post_body_bytes: body1k.length },
  audit_sink: servers.audited.spool ? 'no OpenSearch: local spool in a temp dir' : 'OpenSearch',
  results,
  ratios,
  accounting,
};
mkdirSync(here('../results/'), { recursive: true });
writeFileSync(here('../results/load.json'), `${JSON.stringify(out, null, 2)}\n`);
if (!accounting.ok) process.exitCode = 1;
// BENCHMARKS.md is regenerated from every results file, this one included.
await import('../summarize.js');
