import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { AuditError } from '../../../src/errors.js';
import { STAT_ROW_SLOTS, Stat, WRITE_LATENCY_BUCKETS } from '../../../src/layout.js';
import {
  Histogram,
  HOT_PATH_BUCKETS,
  histogramSamples,
  type MetricsSource,
  registerMetrics,
} from '../../../src/metrics/registry.js';

const NAMES = [
  'audit_events_total',
  'audit_events_latency_seconds',
  'audit_errors_total',
  'audit_requests_refused_total',
  'audit_queue_size',
  'circuit_breaker_state',
  'audit_events_indexed_total',
  'audit_events_dead_lettered_total',
  'audit_events_spooled_total',
  'audit_events_replayed_total',
  'audit_events_recovered_total',
  'audit_spool_bytes',
  'audit_events_dropped_total',
  'audit_bulk_requests_total',
  'audit_events_unchained_total',
  'audit_bulk_retries_total',
  'audit_opensearch_write_latency_seconds',
  'audit_ring_bytes',
  'audit_workers_alive',
  'audit_worker_restarts_total',
] as const;

/** A scripted source whose values the tests change between scrapes. */
function scripted() {
  const totals = new Array<number>(STAT_ROW_SLOTS).fill(0);
  totals[Stat.INDEXED] = 100;
  totals[Stat.DEAD_LETTERED] = 3;
  totals[Stat.SPOOLED] = 20;
  totals[Stat.REPLAYED] = 15;
  totals[Stat.RECOVERED] = 4;
  totals[Stat.SPOOL_BYTES] = 8192;
  totals[Stat.BULK_OK] = 9;
  totals[Stat.BULK_FAILED] = 2;
  totals[Stat.BULK_ABANDONED] = 3;
  totals[Stat.RETRIES] = 5;
  totals[Stat.CHAIN_OVERFLOW] = 11;
  totals[Stat.WRITE_LATENCY_COUNT] = 6;
  totals[Stat.WRITE_LATENCY_SUM_MICROS] = 1_250_000;
  totals[Stat.WRITE_LATENCY_BUCKETS + 0] = 1; // ≤ 0.005
  totals[Stat.WRITE_LATENCY_BUCKETS + 2] = 2; // ≤ 0.025
  totals[Stat.WRITE_LATENCY_BUCKETS + 7] = 2; // ≤ 1 (one more observation is above 30 s)
  const hotPath = new Histogram(HOT_PATH_BUCKETS);
  for (const v of [5e-7, 1e-6, 3e-6, 3e-6, 0.5]) hotPath.observe(v);
  const state = {
    captured: 42,
    dropped: { ring_full: 2, closed: 1 } as Record<string, number>,
    errors: { ring_full: 2, closed: 1, dead_lettered: 3, capture: 1 } as Record<string, number>,
    refused: { spool_full: 4, durable_timeout: 1 } as Record<string, number>,
    queueSize: 7,
    ring: { used: 1024, capacity: 65536 },
    workers: { alive: 2, restarts: 1 },
    breaker: 1,
    totals,
  };
  const source: MetricsSource = {
    captured: () => state.captured,
    hotPath,
    dropped: () => state.dropped,
    errors: () => state.errors,
    refused: () => state.refused,
    queueSize: () => state.queueSize,
    ringBytes: () => state.ring,
    workers: () => state.workers,
    breakerState: () => state.breaker,
    workerTotals: () => state.totals,
  };
  return { state, source, hotPath };
}

/** The samples of an exposition text: `name{labels}` → value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

async function scrape(registry: Registry) {
  const text = await registry.metrics();
  return { text, at: samples(text) };
}

describe('registerMetrics', () => {
  it('registers every metric with its type', async () => {
    const registry = new Registry();
    registerMetrics(registry, scripted().source);
    const { text } = await scrape(registry);
    const types = new Map(
      text
        .split('\n')
        .filter((l) => l.startsWith('# TYPE '))
        .map((l) => l.slice('# TYPE '.length).split(' ') as [string, string]),
    );
    expect([...types.keys()].sort()).toEqual([...NAMES].sort());
    expect(types.get('audit_events_total')).toBe('counter');
    expect(types.get('audit_queue_size')).toBe('gauge');
    expect(types.get('circuit_breaker_state')).toBe('gauge');
    expect(types.get('audit_events_latency_seconds')).toBe('histogram');
    expect(types.get('audit_opensearch_write_latency_seconds')).toBe('histogram');
    for (const name of NAMES) expect(text).toContain(`# HELP ${name} `);
  });

  it('shows the values the source gives: counters, gauges and labelled counts', async () => {
    const registry = new Registry();
    registerMetrics(registry, scripted().source);
    const { at } = await scrape(registry);
    expect(Object.fromEntries([...at].filter(([k]) => !k.includes('latency_seconds')))).toEqual({
      audit_events_total: 42,
      'audit_errors_total{reason="ring_full"}': 2,
      'audit_errors_total{reason="closed"}': 1,
      'audit_errors_total{reason="dead_lettered"}': 3,
      'audit_errors_total{reason="capture"}': 1,
      'audit_requests_refused_total{reason="spool_full"}': 4,
      'audit_requests_refused_total{reason="durable_timeout"}': 1,
      audit_queue_size: 7,
      circuit_breaker_state: 1,
      audit_events_indexed_total: 100,
      audit_events_dead_lettered_total: 3,
      audit_events_spooled_total: 20,
      audit_events_replayed_total: 15,
      audit_events_recovered_total: 4,
      audit_spool_bytes: 8192,
      'audit_events_dropped_total{reason="ring_full"}': 2,
      'audit_events_dropped_total{reason="closed"}': 1,
      'audit_bulk_requests_total{outcome="success"}': 9,
      'audit_bulk_requests_total{outcome="failure"}': 2,
      'audit_bulk_requests_total{outcome="abandoned"}': 3,
      audit_bulk_retries_total: 5,
      audit_events_unchained_total: 11,
      'audit_ring_bytes{state="used"}': 1024,
      'audit_ring_bytes{state="capacity"}': 65536,
      audit_workers_alive: 2,
      audit_worker_restarts_total: 1,
    });
  });

  it('builds the write-latency histogram from the Stat slots: cumulative buckets, sum in seconds, count', async () => {
    const registry = new Registry();
    registerMetrics(registry, scripted().source);
    const { at } = await scrape(registry);
    const perBucket = [1, 0, 2, 0, 0, 0, 0, 2, 0, 0, 0, 0];
    let cumulative = 0;
    WRITE_LATENCY_BUCKETS.forEach((le, i) => {
      cumulative += perBucket[i] as number;
      expect(at.get(`audit_opensearch_write_latency_seconds_bucket{le="${le}"}`), `le=${le}`).toBe(
        cumulative,
      );
    });
    expect(at.get('audit_opensearch_write_latency_seconds_bucket{le="+Inf"}')).toBe(6);
    expect(at.get('audit_opensearch_write_latency_seconds_sum')).toBe(1.25);
    expect(at.get('audit_opensearch_write_latency_seconds_count')).toBe(6);
  });

  it("builds the hot-path histogram from the source's Histogram", async () => {
    const registry = new Registry();
    registerMetrics(registry, scripted().source);
    const { at } = await scrape(registry);
    const bucket = (le: number | string) => at.get(`audit_events_latency_seconds_bucket{le="${le}"}`);
    expect(bucket(1e-6)).toBe(2);
    expect(bucket(2e-6)).toBe(2);
    expect(bucket(5e-6)).toBe(4);
    expect(bucket(5e-3)).toBe(4);
    expect(bucket('+Inf')).toBe(5);
    expect(at.get('audit_events_latency_seconds_count')).toBe(5);
    expect(at.get('audit_events_latency_seconds_sum')).toBeCloseTo(0.5000075, 12);
  });

  it('reads the source anew at every scrape', async () => {
    const registry = new Registry();
    const { state, source, hotPath } = scripted();
    registerMetrics(registry, source);
    await scrape(registry);
    state.captured = 43;
    state.breaker = 0;
    state.dropped = { ring_full: 2, closed: 1, too_large: 5 };
    state.totals = state.totals.map((v, slot) => (slot === Stat.INDEXED ? v + 10 : v));
    hotPath.observe(1e-5);
    const { at } = await scrape(registry);
    expect(at.get('audit_events_total')).toBe(43);
    expect(at.get('circuit_breaker_state')).toBe(0);
    expect(at.get('audit_events_dropped_total{reason="too_large"}')).toBe(5);
    expect(at.get('audit_events_indexed_total')).toBe(110);
    expect(at.get('audit_events_latency_seconds_count')).toBe(6);
  });

  it('reads missing worker slots as 0', async () => {
    const registry = new Registry();
    const { state, source } = scripted();
    state.totals = [];
    registerMetrics(registry, source);
    const { at } = await scrape(registry);
    expect(at.get('audit_events_indexed_total')).toBe(0);
    expect(at.get('audit_bulk_requests_total{outcome="failure"}')).toBe(0);
    expect(at.get('audit_opensearch_write_latency_seconds_count')).toBe(0);
    expect(at.get('audit_opensearch_write_latency_seconds_sum')).toBe(0);
  });

  it('refuses a second registration in one registry with AUDIT_ERR_INVALID_OPTION', () => {
    const registry = new Registry();
    registerMetrics(registry, scripted().source);
    let thrown: unknown;
    try {
      registerMetrics(registry, scripted().source);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(AuditError);
    expect((thrown as AuditError).code).toBe('AUDIT_ERR_INVALID_OPTION');
    expect((thrown as AuditError).message).toContain('audit_events_total');
  });

  it('registers nothing when the registry already holds one of the names', async () => {
    const registry = new Registry();
    new Counter({ name: 'audit_queue_size', help: 'the app’s own', registers: [registry] });
    expect(() => registerMetrics(registry, scripted().source)).toThrow(/audit_queue_size/);
    expect(registry.getMetricsAsArray().map((m) => m.name)).toEqual(['audit_queue_size']);
  });

  it('returns a function that unregisters the metrics, after which they can be registered again', async () => {
    const registry = new Registry();
    new Counter({ name: 'app_requests_total', help: 'the app’s own', registers: [registry] });
    const unregister = registerMetrics(registry, scripted().source);
    unregister();
    expect(registry.getMetricsAsArray().map((m) => m.name)).toEqual(['app_requests_total']);
    expect((await registry.metrics()).includes('audit_')).toBe(false);
    registerMetrics(registry, scripted().source);
    expect((await scrape(registry)).at.get('audit_events_total')).toBe(42);
  });

  it('lets two audits use two registries side by side', async () => {
    const a = new Registry();
    const b = new Registry();
    const one = scripted();
    const two = scripted();
    two.state.captured = 7;
    registerMetrics(a, one.source);
    registerMetrics(b, two.source);
    expect((await scrape(a)).at.get('audit_events_total')).toBe(42);
    expect((await scrape(b)).at.get('audit_events_total')).toBe(7);
  });
});

describe('Histogram', () => {
  it('counts each value in the first bucket whose bound is not below it', () => {
    const h = new Histogram([1, 2, 5]);
    for (const v of [0, 1, 1.5, 2, 4.9, 5]) h.observe(v);
    expect([...h.counts]).toEqual([2, 2, 2]);
    expect(h.count).toBe(6);
    expect(h.sum).toBeCloseTo(14.4, 12);
  });

  it('counts a value above every bound only in count and sum', () => {
    const h = new Histogram([1, 2]);
    h.observe(3);
    h.observe(100);
    expect([...h.counts]).toEqual([0, 0]);
    expect(h.count).toBe(2);
    expect(h.sum).toBe(103);
  });

  it('starts empty', () => {
    const h = new Histogram(HOT_PATH_BUCKETS);
    expect(h.counts).toHaveLength(HOT_PATH_BUCKETS.length);
    expect([...h.counts].every((c) => c === 0)).toBe(true);
    expect([h.count, h.sum]).toEqual([0, 0]);
  });
});

describe('histogramSamples', () => {
  it('turns per-bucket counts into cumulative bucket samples, then +Inf, sum and count', () => {
    expect(histogramSamples('m', [0.1, 1], [2, 3], 4.5, 7)).toEqual([
      { metricName: 'm_bucket', labels: { le: 0.1 }, value: 2 },
      { metricName: 'm_bucket', labels: { le: 1 }, value: 5 },
      { metricName: 'm_bucket', labels: { le: '+Inf' }, value: 7 },
      { metricName: 'm_sum', value: 4.5 },
      { metricName: 'm_count', value: 7 },
    ]);
  });
});
