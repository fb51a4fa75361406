// One variant of the example app (Hono or Express, see apps.ts), served on 127.0.0.1:<free port>
// in its own process so the harness can read this process's CPU and memory from /proc. IPC with
// the harness (bench/load/run.ts):
//   → { ready, port, spool? }                         once listening
//   ← { track: true }  → { tracking }                 starts sampling the audit ring every 20 ms
//   ← { report: true } → { report: { inFlight, spooled, peak_in_flight, peak_ring_bytes, ring_capacity } }
//   ← { window: 'start' } → { window: { at_ns } }    starts counting GC and allocation (below)
//   ← { window: 'end' }   → { window: WindowStats }  what this main thread's GC did since 'start'
//   ← { heap: 'start' | 'stop', file? }              sampling heap profile of the window (profile.ts)
//   ← { stop: true }   → { stopped, stats?, metrics? } after closing the server and the Audit
// The audited variant ships to AUDIT_OPENSEARCH_HOST when set (the profiles), else to a throwaway
// spool folder (the overhead comparison: no OpenSearch on the same two cores).
//   node --import tsx bench/load/server.ts bare|passthrough|audited|peer [hono|express]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { GCProfiler, getHeapStatistics } from 'node:v8';
import { type Audit, createAudit } from '@pdaas/audit';
import { type Framework, frameworks, serveVariant, type Variant, variants } from './apps.js';

const variant = process.argv[2] as Variant;
const framework = (process.argv[3] ?? 'hono') as Framework;
if (!variants.includes(variant)) throw new Error(`unknown variant ${variant}: ${variants.join(' | ')}`);
if (!frameworks.includes(framework))
  throw new Error(`unknown framework ${framework}: ${frameworks.join(' | ')}`);
const silent = { info() {}, warn() {}, error() {} };
let audit: Audit | undefined;
let spoolDir: string | undefined;
if (variant === 'audited') {
  // Without AUDIT_OPENSEARCH_HOST the worker spools what it drains (the embedded default).
  spoolDir = mkdtempSync(join(tmpdir(), 'pdaas-load-'));
  // The overhead windows spool every event and nothing drains it: on a fast machine a full run
  // captures well over a million events, past the default 1 GiB cap, after which they would be
  // dropped (counted as spool_full) and the windows would measure a different path.
  audit = await createAudit({ logger: silent, spoolDir, spoolMaxBytes: 16 * 2 ** 30 });
  // profile.ts only: the adapter builds each event and hands it over, and capture() drops it
  // uncounted (no encoding, no ring, nothing for the worker): the adapter's share, in the server.
  if (process.env.LOAD_ABLATE === 'capture') Object.assign(audit, { capture() {} });
}
const { server, port } = await serveVariant(framework, variant, audit);
process.send?.({
  ready: true,
  port,
  ...(!process.env.AUDIT_OPENSEARCH_HOST && spoolDir && { spool: spoolDir }),
});

// GC pauses of this thread (the main thread; each worker thread is an isolate of its own and is
// not seen here), summed from the 'gc' performance entries.
let gcMs = 0;
let gcCount = 0;
const gcObserver = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcMs += e.duration;
    gcCount++;
  }
});
gcObserver.observe({ entryTypes: ['gc'] });

export interface WindowStats {
  /** process.hrtime at 'start' and 'end' (CLOCK_MONOTONIC, the clock of --cpu-prof timestamps). */
  from_ns: string;
  to_ns: string;
  gc_ms: number;
  gc_count: number;
  /** Main-isolate heap bytes allocated in the window: growth of the used heap + what GC freed. */
  allocated_bytes: number;
  /** The GCProfiler's own sum of GC cost in the window (a cross-check of gc_ms), ms. */
  gc_profiler_ms: number;
}

interface GcStat {
  cost: number;
  beforeGC: { heapStatistics: { usedHeapSize: number } };
  afterGC: { heapStatistics: { usedHeapSize: number } };
}

let window:
  | { from: bigint; gcMs: number; gcCount: number; used: number; profiler: InstanceType<typeof GCProfiler> }
  | undefined;

function windowStart(): bigint {
  window?.profiler.stop();
  const profiler = new GCProfiler();
  profiler.start();
  window = {
    from: process.hrtime.bigint(),
    gcMs,
    gcCount,
    used: getHeapStatistics().used_heap_size,
    profiler,
  };
  return window.from;
}

function windowEnd(): WindowStats | undefined {
  if (!window) return undefined;
  // Entries not yet delivered to the callback.
  for (const e of gcObserver.takeRecords()) {
    gcMs += e.duration;
    gcCount++;
  }
  const used = getHeapStatistics().used_heap_size;
  const to = process.hrtime.bigint();
  const stats = (window.profiler.stop()?.statistics ?? []) as GcStat[];
  let freed = 0;
  let cost = 0;
  for (const s of stats) {
    freed += s.beforeGC.heapStatistics.usedHeapSize - s.afterGC.heapStatistics.usedHeapSize;
    cost += s.cost;
  }
  const w = window;
  window = undefined;
  return {
    from_ns: String(w.from),
    to_ns: String(to),
    gc_ms: gcMs - w.gcMs,
    gc_count: gcCount - w.gcCount,
    allocated_bytes: used - w.used + freed,
    gc_profiler_ms: cost / 1000,
  };
}

// A sampling heap profile that keeps what GC collected too: where the allocations come from, not
// only what stays alive.
let heapSession: Session | undefined;
async function heapProfile(cmd: 'start' | 'stop', file?: string): Promise<void> {
  if (cmd === 'start') {
    heapSession = new Session();
    heapSession.connect();
    await heapSession.post('HeapProfiler.startSampling', {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    } as object);
    return;
  }
  if (!heapSession) return;
  const { profile } = (await heapSession.post('HeapProfiler.stopSampling')) as { profile: unknown };
  heapSession.disconnect();
  heapSession = undefined;
  if (file) writeFileSync(file, JSON.stringify(profile));
}

/** The ring's used bytes and capacity, as the audit_ring_bytes gauge reports them. */
function ringBytes(a: Audit): { used: number; capacity: number } {
  const metric = a.registry.getSingleMetric('audit_ring_bytes') as unknown as {
    read(): Array<{ labels: { state: string }; value: number }>;
  };
  const samples = metric.read();
  const value = (state: string) => samples.find((s) => s.labels.state === state)?.value ?? 0;
  return { used: value('used'), capacity: value('capacity') };
}

let peakInFlight = 0;
let peakRingBytes = 0;
let sampler: NodeJS.Timeout | undefined;

process.on(
  'message',
  async (msg: {
    track?: boolean;
    report?: boolean;
    stop?: boolean;
    window?: 'start' | 'end';
    heap?: 'start' | 'stop';
    file?: string;
  }) => {
    if (msg.window === 'start') process.send?.({ window: { at_ns: String(windowStart()) } });
    if (msg.window === 'end') process.send?.({ window: windowEnd() });
    if (msg.heap) {
      await heapProfile(msg.heap, msg.file);
      process.send?.({ heaped: msg.heap });
    }
    if (msg.track && audit) {
      const a = audit;
      peakInFlight = 0;
      peakRingBytes = 0;
      clearInterval(sampler);
      sampler = setInterval(() => {
        peakInFlight = Math.max(peakInFlight, a.stats().inFlight);
        peakRingBytes = Math.max(peakRingBytes, ringBytes(a).used);
      }, 20);
      process.send?.({ tracking: true });
    }
    if (msg.report) {
      process.send?.({
        report: audit
          ? {
              inFlight: audit.stats().inFlight,
              spooled: audit.stats().spooled,
              peak_in_flight: peakInFlight,
              peak_ring_bytes: peakRingBytes,
              ring_capacity: ringBytes(audit).capacity,
            }
          : { inFlight: 0 },
      });
    }
    if (!msg.stop) return;
    clearInterval(sampler);
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
    });
    gcObserver.disconnect();
    const metrics = audit ? await audit.registry.getMetricsAsJSON() : undefined;
    const stats = audit ? await audit.close() : undefined;
    if (spoolDir) rmSync(spoolDir, { recursive: true, force: true });
    process.send?.({ stopped: true, stats, metrics }, () => process.exit(0));
  },
);
