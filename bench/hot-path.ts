// Micro-benchmarks of the request hot path, run with tinybench on this machine and written to
// bench/results/hot-path.json (BENCHMARKS.md is generated from it by bench/summarize.ts).
//   - capture(): encode + ring write for a GET event and a 1 KB-body POST event
//   - the Hono middleware as a whole: audited app.request() minus bare app.request(), same run
//   - msgpackr (our fixed-order encoder) vs JSON.stringify for the same event
//   - ring throughput with a real consumer thread

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { type Audit, createAudit } from '@pdaas/audit';
import { Registry } from 'prom-client';
import { Bench } from 'tinybench';
import { createApp } from '../examples/hono/app.js';
import { EventEncoder } from '../src/capture/encoder.js';
import { createRingBuffer } from '../src/layout.js';
import { RingProducer, WriteResult } from '../src/ring/producer.js';
import { internals } from '../test/support/internals.js';
import { getEvent, postBytesEvent } from './fixtures.js';

const BATCH = 200;
const TIME_MS = Number(process.env.BENCH_TIME_MS ?? 1500);
const silent = { info() {}, warn() {}, error() {} };

const kilobyte = Buffer.from(JSON.stringify({ name: 'policy', rules: 'x'.repeat(990) }));

/**
 * A task that runs `op` BATCH times per sample, so timer granularity does not swamp sub-µs costs.
 * With `audit`, it first waits (untimed) until the worker has drained the ring below a quarter of
 * AUDIT_MAX_QUEUE_SIZE: the bench calls capture() far faster than requests arrive, and a full ring
 * would measure the cheap drop path instead of the write. (Half was too much: 25,000 of the 1.3 KB
 * POST frames overflow the default ring's 32 MiB of bytes before its event limit.)
 */
function batched(bench: Bench, name: string, op: () => unknown, audit?: Audit, batch = BATCH) {
  bench.add(name, async () => {
    if (audit) while (audit.stats().inFlight > audit.config.maxQueueSize / 4) await sleep(2);
    const t0 = bench.now();
    for (let i = 0; i < batch; i++) op();
    const elapsed = bench.now() - t0;
    return { overriddenDuration: elapsed / batch, overriddenIterationCost: elapsed };
  });
}

async function main() {
  // No OpenSearch: the worker spools what it drains, to a throwaway folder.
  const spoolDir = mkdtempSync(join(tmpdir(), 'pdaas-bench-'));
  const audit = await createAudit({ registry: new Registry(), logger: silent, workers: 1, spoolDir });
  const get = getEvent(0);
  const post = postBytesEvent(0, kilobyte);
  const bench = new Bench({ time: TIME_MS, warmup: true });
  batched(bench, 'capture GET event (encode + ring write)', () => internals(audit).capture(get), audit);
  batched(
    bench,
    'capture 1 KB POST event (encode + ring write)',
    () => internals(audit).capture(post),
    audit,
  );
  // AUDIT_FAILURE_MODE=closed: the check before each request, and the middleware with it.
  const closedDir = mkdtempSync(join(tmpdir(), 'pdaas-bench-closed-'));
  const closed = await createAudit({
    registry: new Registry(),
    logger: silent,
    workers: 1,
    spoolDir: closedDir,
    failureMode: 'closed',
  });
  for (let i = 0; i < 500 && internals(closed).admission() !== undefined; i++) await sleep(10);
  let refusedInBench = 0;
  batched(bench, 'admission check (AUDIT_FAILURE_MODE=closed)', () => {
    if (internals(closed).admission() !== undefined) refusedInBench++;
  });
  const encoder = new EventEncoder();
  batched(bench, 'encode 1 KB POST event: msgpackr fixed order', () => encoder.encode(post));
  const asJson = { ...post, body: kilobyte.toString('utf8') };
  batched(bench, 'encode 1 KB POST event: JSON.stringify', () => Buffer.from(JSON.stringify(asJson)));

  const bare = createApp();
  const audited = createApp(audit);
  const auditedClosed = createApp(closed);
  const headers = { 'x-organization-id': 'org-017', 'x-actor-id': 'user-42' };
  const body = kilobyte.toString('utf8');
  const postInit = () => ({
    method: 'POST',
    body,
    headers: { ...headers, 'content-type': 'application/json' },
  });
  for (const [label, app, owner] of [
    ['bare', bare, audit],
    ['audited', audited, audit],
    ['audited, closed mode', auditedClosed, closed],
  ] as const) {
    bench.add(`hono app.request GET (${label})`, async () => {
      while (owner.stats().inFlight > owner.config.maxQueueSize / 4) await sleep(2);
      const t0 = bench.now();
      await (await app.request('/policies/pol-123', { headers })).arrayBuffer();
      return { overriddenDuration: bench.now() - t0 };
    });
    bench.add(`hono app.request 1 KB POST (${label})`, async () => {
      while (owner.stats().inFlight > owner.config.maxQueueSize / 4) await sleep(2);
      const t0 = bench.now();
      await (await app.request('/policies', postInit())).arrayBuffer();
      return { overriddenDuration: bench.now() - t0 };
    });
  }
  await bench.run();
  const stats = audit.stats();
  await audit.close().catch(() => undefined);
  const closedStats = closed.stats();
  await closed.close().catch(() => undefined);
  rmSync(spoolDir, { recursive: true, force: true });
  rmSync(closedDir, { recursive: true, force: true });

  const results = bench.tasks.map((t) => {
    const r = t.result as unknown as {
      latency: { p50: number; mean: number; p99: number; samplesCount: number; moe: number };
    };
    return {
      name: t.name,
      p50_us: r.latency.p50 * 1000,
      mean_us: r.latency.mean * 1000,
      p99_us: r.latency.p99 * 1000,
      samples: r.latency.samplesCount,
    };
  });
  const p50 = (name: string) => results.find((r) => r.name === name)?.p50_us ?? Number.NaN;

  const ring = await ringThroughput();
  const out = {
    benchmark: 'hot-path',
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? '', node: process.version },
    results,
    derived: {
      middleware_get_overhead_us: p50('hono app.request GET (audited)') - p50('hono app.request GET (bare)'),
      middleware_post_overhead_us:
        p50('hono app.request 1 KB POST (audited)') - p50('hono app.request 1 KB POST (bare)'),
      admission_check_us: p50('admission check (AUDIT_FAILURE_MODE=closed)'),
      closed_mode_middleware_get_us:
        p50('hono app.request GET (audited, closed mode)') - p50('hono app.request GET (audited)'),
      // Checks that answered "refuse" during the run: must be 0, or the figure mixes in the refusal.
      admission_refusals: refusedInBench,
      closed_mode_dropped: closedStats.dropped.total,
      msgpack_vs_json_speedup:
        p50('encode 1 KB POST event: JSON.stringify') / p50('encode 1 KB POST event: msgpackr fixed order'),
      ring,
      // Captures that found the ring full: must be 0, or the figures above mix in the drop path.
      ring_full_drops: stats.dropped.byReason.ring_full,
      events_captured: stats.captured,
    },
    targets: { capture_get_p50_us: 2, capture_post_1kb_p50_us: 5, admission_check_us: 0.3 },
  };
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./results/hot-path.json', import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
  console.table(
    results.map((r) => ({ task: r.name, 'p50 µs': r.p50_us.toFixed(3), 'p99 µs': r.p99_us.toFixed(3) })),
  );
  console.log(JSON.stringify(out.derived, null, 2));
}

/** 1 KB frames through a 1 MiB ring to a consumer thread that releases as it reads. */
async function ringThroughput() {
  const frames = 1_000_000;
  const buf = createRingBuffer(1 << 20);
  const done = new SharedArrayBuffer(4);
  const worker = new Worker(new URL('../test/support/ts-worker.mjs', import.meta.url), {
    workerData: {
      entry: new URL('../workers/ring-consumer.ts', import.meta.url).href,
      ring: buf,
      done,
    },
  });
  const finished = new Promise<number>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await new Promise((r) => worker.once('online', r));
  const producer = new RingProducer(buf);
  const payload = new Uint8Array(1024).fill(7);
  let full = 0;
  const t0 = performance.now();
  for (let i = 0; i < frames; i++) {
    while (producer.write(payload) !== WriteResult.OK) full++;
  }
  const produced = performance.now() - t0;
  Atomics.store(new Int32Array(done), 0, 1);
  producer.close();
  const consumed = await finished;
  const total = performance.now() - t0;
  await worker.terminate();
  return {
    frames,
    frame_bytes: 1024,
    consumed,
    seconds: total / 1000,
    frames_per_second: frames / (total / 1000),
    megabytes_per_second: (frames * 1024) / 1e6 / (total / 1000),
    producer_ns_per_frame: (produced * 1e6) / frames,
    producer_spins_on_full: full,
  };
}

await main();
process.exit(0);
