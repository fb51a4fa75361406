import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { Client } from '@opensearch-project/opensearch';
import { type Audit, createAudit, createReader } from '@pdaas/audit';
import { Registry } from 'prom-client';
import { DevNode } from '../scripts/opensearch/dev-node.js';
import { EventEncoder } from '../src/capture/encoder.js';
import { HeadTable } from '../src/chain/heads.js';
import { ChainSequencer } from '../src/chain/sequencer.js';
import type { CapturedEvent } from '../src/event.js';
import { decodeEvent } from '../src/event.js';
import { createChainHeadsBuffer } from '../src/layout.js';
import { GZIP_LEVEL, gzipBody, ndjson } from '../src/opensearch/bulk.js';
import { Sanitizer } from '../src/redact/sanitizer.js';
import { encodeRecords } from '../src/spool/records.js';
import { Spool } from '../src/spool/spool.js';
import { type AuditDocument, type DocumentContext, IndexNamer, toDocument } from '../src/worker/document.js';
import { internals } from '../test/support/internals.js';
import { eventAt, getEvent, ORGS, postBody, postEvent } from './fixtures.js';
import { statCpuUs } from './load/proc.js';

const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const STAGE_EVENTS = 2000;
const STAGE_MS = 500;
const BATCH = 500;
const SPOOL_EVENTS = 100_000;
const OPENSEARCH_EVENTS = 50_000;
/** Events through before measuring: JIT warm-up of the worker and, more so, of a fresh OpenSearch node. */
const WARMUP = { spool: 5000, opensearch: 20_000 };
const RING_BYTES = 256 * 1024 * 1024;
/** Captured but not yet delivered: the pump waits below this, so the ring never fills. */
const MAX_IN_FLIGHT = 50_000;
const silent = { info() {}, warn() {}, error() {} };

// ---- measuring ----

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** µs per event: `run` handles `events` events; the median of repeated runs after a warm-up. */
function perEvent(events: number, run: () => unknown): number {
  for (let i = 0; i < 3; i++) run();
  const samples: number[] = [];
  const until = performance.now() + STAGE_MS;
  while (samples.length < 5 || performance.now() < until) {
    const t0 = performance.now();
    run();
    samples.push(((performance.now() - t0) * 1000) / events);
  }
  return median(samples);
}

async function perEventAsync(events: number, run: () => Promise<unknown>): Promise<number> {
  await run();
  const samples: number[] = [];
  const until = performance.now() + STAGE_MS;
  while (samples.length < 5 || performance.now() < until) {
    const t0 = performance.now();
    await run();
    samples.push(((performance.now() - t0) * 1000) / events);
  }
  return median(samples);
}

/** Encoded frames laid out in shared memory, 8-byte aligned, as the worker sees them in the ring. */
function sharedFrames(events: CapturedEvent[]): Uint8Array[] {
  const encoder = new EventEncoder();
  const encoded = events.map((e) => Uint8Array.from(encoder.encode(e)));
  const total = encoded.reduce((n, f) => n + ((f.length + 7) & ~7), 0);
  const shared = new Uint8Array(new SharedArrayBuffer(total));
  let at = 0;
  return encoded.map((f) => {
    shared.set(f, at);
    const view = shared.subarray(at, at + f.length);
    at += (f.length + 7) & ~7;
    return view;
  });
}

function documentContext(): DocumentContext {
  return {
    indexPrefix: 'audit',
    rotation: 'daily',
    service: 'api',
    environment: 'bench',
    serviceVersion: '1.0.0',
    host: 'bench-host',
    instance: new Uint8Array([1, 2, 3, 4, 5, 6]),
    sanitizer: new Sanitizer(),
    maxBodySize: 20480,
  };
}

async function stages() {
  const ctx = documentContext();
  const namer = new IndexNamer(ctx);
  const kinds = { get: getEvent, post: postEvent } as const;
  const perKind: Record<string, Record<string, number>> = {};
  const sizes: Record<string, number> = {};
  for (const [kind, make] of Object.entries(kinds)) {
    const events = Array.from({ length: STAGE_EVENTS }, (_, i) => make(i * 2 + (kind === 'get' ? 0 : 1)));
    const frames = sharedFrames(events);
    const decoded = frames.map((f) => decodeEvent(f));
    sizes[`${kind}_frame_bytes`] = Math.round(frames.reduce((n, f) => n + f.length, 0) / frames.length);
    // As src/worker/drain.ts does: straight from the ring view (decodeEvent copies it first).
    const decode = perEvent(frames.length, () => {
      for (const f of frames) decodeEvent(f);
    });
    const document = perEvent(frames.length, () => {
      for (const e of decoded) toDocument(e, ctx, namer);
    });
    // The same with each organization's hash chain (src/chain/): position, SHA-256, head moved.
    const chain = new ChainSequencer(new HeadTable(createChainHeadsBuffer(1), 0), 'bench-0', 0);
    const chained = perEvent(frames.length, () => {
      for (const e of decoded) toDocument(e, ctx, namer, chain);
    });
    perKind[kind] = {
      decode,
      to_document: document,
      to_document_chained: chained,
      chain: chained - document,
    };
  }

  // Batch stages run on batches of the 1:1 mix, as the worker builds them.
  const mixed = sharedFrames(Array.from({ length: STAGE_EVENTS }, (_, i) => eventAt(i)));
  const docs = mixed.map((f) => toDocument(decodeEvent(f), ctx, namer));
  const batches: AuditDocument[][] = [];
  for (let i = 0; i < docs.length; i += BATCH) batches.push(docs.slice(i, i + BATCH));
  const bodies = batches.map((b) => ndjson(b));
  const mix: Record<string, number> = {
    ndjson: perEvent(docs.length, () => {
      for (const b of batches) ndjson(b);
    }),
    gzip: perEvent(docs.length, () => {
      for (const s of bodies) gzipBody(s);
    }),
    // As Spool.append does: encode, then one buffer for the write.
    spool_encode: perEvent(docs.length, () => {
      for (const b of batches) Buffer.concat(encodeRecords(b));
    }),
  };
  const gzipLevels: Record<string, { us_per_event: number; bytes_per_event: number }> = {};
  for (const level of [1, 3, 6]) {
    gzipLevels[`level_${level}`] = {
      us_per_event: round3(
        perEvent(docs.length, () => {
          for (const s of bodies) gzipSync(s, { level });
        }),
      ),
      bytes_per_event: round3(bodies.reduce((n, s) => n + gzipSync(s, { level }).length, 0) / docs.length),
    };
  }
  const ndjsonBytes = bodies.reduce((n, s) => n + Buffer.byteLength(s), 0) / docs.length;
  const recordBytes = batches.reduce((n, b) => n + Buffer.concat(encodeRecords(b)).length, 0) / docs.length;

  const dir = mkdtempSync(join(tmpdir(), 'pdaas-bench-spool-'));
  const spool = new Spool({ root: dir, shard: 0, shards: 1, instance: 'bench00000000', maxBytes: 2 ** 40 });
  await spool.init();
  // Wall time, not CPU: encode, write and datasync of one batch.
  mix.spool_append_wall = await perEventAsync(BATCH, () => spool.append(batches[0] as AuditDocument[]));
  await spool.close();
  rmSync(dir, { recursive: true, force: true });

  for (const stage of ['decode', 'to_document', 'to_document_chained', 'chain']) {
    mix[stage] = ((perKind.get?.[stage] ?? 0) + (perKind.post?.[stage] ?? 0)) / 2;
  }
  const perDoc = (mix.decode ?? 0) + (mix.to_document_chained ?? 0);
  const rounded = (o: Record<string, number>) =>
    Object.fromEntries(Object.entries(o).map(([k, v]) => [k, round3(v)]));
  return {
    us_per_event: {
      get: rounded(perKind.get ?? {}),
      post: rounded(perKind.post ?? {}),
      mix: rounded(mix),
    },
    // What one worker spends per event on each sink, by the stages above (the sink's I/O excluded).
    sum_us_per_event: {
      spool: round3(perDoc + (mix.spool_encode ?? 0)),
      opensearch: round3(perDoc + (mix.ndjson ?? 0) + (mix.gzip ?? 0)),
    },
    gzip_levels: gzipLevels,
    bytes_per_event: {
      ...sizes,
      post_body_json: Math.round(JSON.stringify(postBody(1)).length),
      ndjson: round3(ndjsonBytes),
      gzip: round3(bodies.reduce((n, s) => n + gzipBody(s).length, 0) / docs.length),
      spool_record: round3(recordBytes),
    },
  };
}

// ---- end to end ----

/** CPU µs so far of this process, of its main thread, and of each thread by id. */
function cpuNow() {
  const u = process.cpuUsage();
  const threads = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      threads.set(tid, statCpuUs(`/proc/self/task/${tid}/stat`));
    } catch {
      // the thread ended between readdir and read
    }
  }
  return { process: u.user + u.system, main: threads.get(String(process.pid)) ?? 0, threads };
}

type Cpu = ReturnType<typeof cpuNow>;

/** Per event: CPU of the non-main threads, of the busiest one (the drain worker) and of the main thread. */
function cpuPerEvent(a: Cpu, b: Cpu, events: number) {
  const main = b.main - a.main;
  let busiest = 0;
  for (const [tid, us] of b.threads) {
    if (tid !== String(process.pid)) busiest = Math.max(busiest, us - (a.threads.get(tid) ?? 0));
  }
  const nonMain = b.process - a.process - main;
  return {
    non_main_threads: round3(nonMain / events),
    drain_thread: round3(busiest / events),
    other_threads: round3((nonMain - busiest) / events),
    main_thread: round3(main / events),
  };
}

/** Captures events [from, to) in bursts, waiting whenever MAX_IN_FLIGHT are still in the ring. */
async function pump(audit: Audit, from: number, to: number): Promise<void> {
  for (let n = from; n < to; ) {
    if (audit.stats().inFlight >= MAX_IN_FLIGHT) {
      await sleep(1);
      continue;
    }
    const end = Math.min(to, n + 1000);
    for (; n < end; n++) internals(audit).capture(eventAt(n));
  }
}

/** Waits until `total` events have an outcome (indexed, spooled, dead-lettered or dropped). */
async function settled(audit: Audit, total: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const s = audit.stats();
    if (s.indexed + s.spooled + s.deadLettered + s.dropped.total >= total) return;
    if (Date.now() > deadline) throw new Error(`not settled: ${JSON.stringify(s)}`);
    await sleep(1);
  }
}

async function endToEnd(
  events: number,
  warmup: number,
  options: Parameters<typeof createAudit>[0],
  otherPid?: number,
): Promise<Record<string, unknown>> {
  const spoolDir = mkdtempSync(join(tmpdir(), 'pdaas-bench-e2e-'));
  const audit = await createAudit({
    registry: new Registry(),
    logger: silent,
    workers: 1,
    ringBytes: RING_BYTES,
    maxQueueSize: 1_000_000,
    batchSize: BATCH,
    // Only the last partial batch waits for it.
    flushIntervalSeconds: 0.05,
    spoolDir,
    ...options,
  });
  try {
    await pump(audit, 0, warmup);
    await settled(audit, warmup);
    const other0 = otherPid ? statCpuUs(`/proc/${otherPid}/stat`) : 0;
    const cpu0 = cpuNow();
    const t0 = performance.now();
    await pump(audit, warmup, warmup + events);
    await settled(audit, warmup + events);
    const seconds = (performance.now() - t0) / 1000;
    const cpu1 = cpuNow();
    const other1 = otherPid ? statCpuUs(`/proc/${otherPid}/stat`) : 0;
    const s = audit.stats();
    return {
      events,
      seconds: round3(seconds),
      events_per_second: Math.round(events / seconds),
      cpu_us_per_event: {
        ...cpuPerEvent(cpu0, cpu1, events),
        ...(otherPid && { opensearch_jvm: round3((other1 - other0) / events) }),
      },
      stats_incl_warmup: {
        indexed: s.indexed,
        spooled: s.spooled,
        deadLettered: s.deadLettered,
        dropped: s.dropped.total,
      },
    };
  } finally {
    await audit.close().catch(() => undefined);
    rmSync(spoolDir, { recursive: true, force: true });
  }
}

async function withOpenSearch<T>(run: (url: URL, pid: number | undefined) => Promise<T>): Promise<T> {
  const given = process.env.BENCH_OPENSEARCH_URL;
  if (given) return run(new URL(given), undefined);
  const node = new DevNode({ port: 9280, name: 'bench', log: () => undefined });
  const wasRunning = node.pid() !== undefined;
  const url = await node.start();
  try {
    return await run(new URL(url), node.pid());
  } finally {
    if (!wasRunning) await node.stop();
  }
}

/**
 * `verify` over what the run stored: every organization's chains read back (pages of 5,000 with
 * search_after), every hash recomputed; events per second of wall time, all organizations in turn.
 */
async function verifyThroughput(url: URL, prefix: string) {
  const client = new Client({ node: url.origin });
  try {
    await client.indices.refresh({ index: `${prefix}-*` });
    let events = 0;
    let problems = 0;
    let organizations = 0;
    const t0 = performance.now();
    for (let i = 0; i < ORGS; i++) {
      const organizationId = `org-${String(i).padStart(3, '0')}`;
      const report = await createReader({ organizationId, indexPrefix: prefix, client }).verify();
      events += report.events;
      problems += report.problems.length;
      if (report.events > 0) organizations++;
    }
    const seconds = (performance.now() - t0) / 1000;
    return {
      organizations,
      events,
      problems,
      seconds: round3(seconds),
      events_per_second: Math.round(events / seconds),
    };
  } finally {
    await client.close();
  }
}

async function openSearchSink() {
  return withOpenSearch(async (url, pid) => {
    const prefix = `bench-pipeline-${Date.now()}`;
    try {
      const run = await endToEnd(
        OPENSEARCH_EVENTS,
        WARMUP.opensearch,
        {
          opensearch: { host: url.hostname, port: Number(url.port) },
          indexPrefix: prefix,
          indexShards: 1,
          indexReplicas: 0,
        },
        pid,
      );
      return { ...run, verify: await verifyThroughput(url, prefix) };
    } finally {
      await fetch(`${url.origin}/${prefix}-*`, { method: 'DELETE' }).catch(() => undefined);
      await fetch(`${url.origin}/_index_template/${prefix}*`, { method: 'DELETE' }).catch(() => undefined);
    }
  });
}

async function main() {
  const started = performance.now();
  const machine = {
    cpus: cpus().length,
    model: cpus()[0]?.model ?? '',
    node: process.version,
    loadavg_at_start: loadavg().map(round3),
  };
  const stageResults = !only || only === 'stages' ? await stages() : undefined;
  if (stageResults) console.log(JSON.stringify(stageResults, null, 2));
  const spool = !only || only === 'spool' ? await endToEnd(SPOOL_EVENTS, WARMUP.spool, {}) : undefined;
  if (spool) console.log('spool', JSON.stringify(spool));
  const opensearch = !only || only === 'opensearch' ? await openSearchSink() : undefined;
  if (opensearch) console.log('opensearch', JSON.stringify(opensearch));
  if (only) return;
  const out = {
    benchmark: 'pipeline',
    date: new Date().toISOString(),
    machine,
    parameters: {
      mix: 'GET without body : POST with a ~1 KB JSON body (parsed value) = 1:1',
      stage_events_per_kind: STAGE_EVENTS,
      batch_size: BATCH,
      gzip_level: GZIP_LEVEL,
      ring_bytes: RING_BYTES,
      warmup_events: WARMUP,
      spool_events: SPOOL_EVENTS,
      opensearch_events: OPENSEARCH_EVENTS,
      opensearch: 'dev node, 1 shard, 0 replicas, same machine',
    },
    stages: stageResults,
    end_to_end: { spool, opensearch },
    runtime_seconds: round3((performance.now() - started) / 1000),
  };
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./results/pipeline.json', import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
  console.log(`wrote bench/results/pipeline.json in ${out.runtime_seconds} s`);
}

await main();
process.exit(0);
