// What a durable route costs (issue #17): the latency a request gains when its handler waits for
// its intent event to be durable, against the same route without `durable`, in one run. Two sinks:
// the spool (no OpenSearch: an fdatasync per batch) and the project's OpenSearch dev node (a _bulk
// round trip). Two loads: paced at 500 req/s (open loop, latency from each request's scheduled
// time) and saturation (32 requests always in flight). Requests go through Hono's app.request()
// in this process, so the figures are the middleware and the wait, without sockets.
// Writes bench/results/durable.json (BENCHMARKS.md is generated from it by bench/summarize.ts).
//   tsx bench/durable.ts [--seconds S]   default 8 s per window
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createAudit } from '@pdaas/audit';
import { auditAs, honoAudit } from '@pdaas/audit/hono';
import { Hono } from 'hono';
import { Registry } from 'prom-client';
import { DevNode } from '../scripts/opensearch/dev-node.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '8' } } });
const SECONDS = Number(values.seconds);
const RATE = 500;
const CONCURRENCY = 32;
const silent = { info() {}, warn() {}, error() {} };

interface Window {
  requests: number;
  req_per_s: number;
  p50_ms: number;
  p99_ms: number;
  non_2xx: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

function summarize(latencies: number[], seconds: number, bad: number): Window {
  const sorted = latencies.sort((a, b) => a - b);
  return {
    requests: sorted.length,
    req_per_s: sorted.length / seconds,
    p50_ms: percentile(sorted, 50),
    p99_ms: percentile(sorted, 99),
    non_2xx: bad,
  };
}

type Send = (n: number) => Promise<number>;

/** Open loop: request n is due at start + n / RATE; its latency counts from then. */
async function paced(send: Send): Promise<Window> {
  const latencies: number[] = [];
  let bad = 0;
  const total = RATE * SECONDS;
  const start = performance.now();
  const pending: Promise<void>[] = [];
  for (let n = 0; n < total; n++) {
    const due = start + (n * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    // Sent early (a timer's granularity), it counts from its sending; sent late, from when it was due.
    const from = Math.min(due, performance.now());
    pending.push(
      send(n).then((status) => {
        latencies.push(performance.now() - from);
        if (status < 200 || status > 299) bad++;
      }),
    );
  }
  await Promise.all(pending);
  return summarize(latencies, (performance.now() - start) / 1000, bad);
}

/** Closed loop: CONCURRENCY requests in flight for SECONDS. */
async function saturated(send: Send): Promise<Window> {
  const latencies: number[] = [];
  let bad = 0;
  let n = 0;
  const start = performance.now();
  const end = start + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        const status = await send(n++);
        latencies.push(performance.now() - t0);
        if (status < 200 || status > 299) bad++;
      }
    }),
  );
  return summarize(latencies, (performance.now() - start) / 1000, bad);
}

async function measure(sink: 'spool' | 'opensearch', url: string | undefined) {
  const spoolDir = mkdtempSync(join(tmpdir(), `pdaas-durable-${sink}-`));
  const target = url ? new URL(url) : undefined;
  const audit = await createAudit({
    registry: new Registry(),
    logger: silent,
    spoolDir,
    indexPrefix: `bench-durable-${sink}-${Date.now().toString(36)}`,
    indexShards: 1,
    indexReplicas: 0,
    flushIntervalSeconds: 1,
    ...(target && { opensearch: { host: target.hostname, port: Number(target.port) } }),
  });
  const app = new Hono();
  app.use(honoAudit(audit));
  app.post('/plain/:id', (c) => c.json({ ok: true }));
  app.post('/durable/:id', auditAs({ durable: true }), (c) => c.json({ ok: true }));
  const sender =
    (route: string): Send =>
    async (n) => {
      const res = await app.request(`/${route}/t-${n}`, {
        method: 'POST',
        headers: {
          'x-organization-id': `org-${n % 10}`,
          'x-actor-id': 'bench',
          'x-request-id': `${route}-${n}`,
        },
      });
      await res.arrayBuffer();
      return res.status;
    };
  // Each window starts from a calm pipeline: a backlog (an overload spilled to the spool and being
  // replayed) would put the intents behind it and measure the backlog, not the route.
  const calm = async () => {
    const deadline = Date.now() + 180_000;
    for (;;) {
      const s = audit.stats();
      if (s.inFlight === 0 && (sink === 'spool' || s.spooled === 0)) return;
      if (Date.now() > deadline)
        throw new Error(`${sink}: the pipeline did not settle: ${JSON.stringify(s)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const window = async (run: (send: Send) => Promise<Window>, route: string) => {
    await calm();
    return run(sender(route));
  };
  // Warm-up: the day's index created, the JIT warm.
  await window(saturated, 'durable');
  const out = {
    paced: { plain: await window(paced, 'plain'), durable: await window(paced, 'durable') },
    saturation: { durable: await window(saturated, 'durable'), plain: await window(saturated, 'plain') },
    stats: { captured: 0, dropped: 0 },
  };
  const final = await audit.close({ timeoutSeconds: 120 });
  out.stats = { captured: final.captured, dropped: final.dropped.total };
  rmSync(spoolDir, { recursive: true, force: true });
  console.log(sink, JSON.stringify(out));
  return out;
}

/**
 * How fast a worker thread can wake a waiting main thread, the two ways that never block it:
 * a MessagePort message, and Atomics.notify on a word the main thread awaits with
 * Atomics.waitAsync. Ping-pong (the worker waits for the main thread's answer before the next
 * wake), so each figure is one wake, not a queue; the worker stamps the time just before waking.
 */
async function wakeups(
  rounds = 5000,
): Promise<Record<'message' | 'wait_async', { p50_us: number; p99_us: number }>> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { flag, stamp, mode, rounds } = workerData;
    const f = new Int32Array(flag);
    const t = new Float64Array(stamp);
    for (let i = 0; i < rounds; i++) {
      // Wait for the main thread to be ready for the next wake (slot 1 is the main thread's turn).
      while (Atomics.load(f, 1) !== i) Atomics.wait(f, 1, Atomics.load(f, 1), 50);
      t[0] = performance.timeOrigin + performance.now();
      if (mode === 'message') parentPort.postMessage(i);
      else { Atomics.store(f, 0, i + 1); Atomics.notify(f, 0); }
    }`;
  const { Worker } = await import('node:worker_threads');
  const out: Record<string, { p50_us: number; p99_us: number }> = {};
  for (const mode of ['message', 'wait_async'] as const) {
    const flag = new SharedArrayBuffer(8);
    const stamp = new SharedArrayBuffer(8);
    const f = new Int32Array(flag);
    const t = new Float64Array(stamp);
    const worker = new Worker(code, { eval: true, workerData: { flag, stamp, mode, rounds } });
    const took: number[] = [];
    let next: (() => void) | undefined;
    if (mode === 'message') worker.on('message', () => next?.());
    for (let i = 0; i < rounds; i++) {
      const woke =
        mode === 'message'
          ? new Promise<void>((r) => {
              next = r;
            })
          : (Atomics.waitAsync(f, 0, i).value as Promise<string>);
      Atomics.store(f, 1, i);
      Atomics.notify(f, 1);
      await woke;
      took.push((performance.timeOrigin + performance.now() - (t[0] as number)) * 1000);
    }
    await worker.terminate();
    const sorted = took.slice(rounds / 10).sort((a, b) => a - b);
    out[mode] = { p50_us: percentile(sorted, 50), p99_us: percentile(sorted, 99) };
  }
  console.log('wake-ups', JSON.stringify(out));
  return out as Record<'message' | 'wait_async', { p50_us: number; p99_us: number }>;
}

const started = Date.now();
const wake = await wakeups();
const spool = await measure('spool', undefined);
const node = new DevNode({ port: 9280, name: 'bench', log: () => undefined });
let opensearch: Awaited<ReturnType<typeof measure>>;
try {
  opensearch = await measure('opensearch', await node.start());
} finally {
  await node.stop();
}
const result = {
  benchmark: 'durable',
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model ?? '', node: process.version },
  parameters: { seconds_per_window: SECONDS, paced_rate: RATE, concurrency: CONCURRENCY },
  runtime_seconds: Math.round((Date.now() - started) / 1000),
  sinks: { spool, opensearch },
  wakeup_worker_to_main: wake,
};
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/durable.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
console.log(`wrote bench/results/durable.json in ${result.runtime_seconds} s`);
process.exit(0);
