// Prometheus metrics. Nothing is counted through prom-client on the hot path: the main thread
// keeps plain numbers, the workers write the shared block, and these metric objects read both when
// a registry is scraped, so a scrape costs no message round trip and a request no label lookup.
import type { Registry } from 'prom-client';
import { AuditError } from '../errors.js';
import { Stat, WRITE_LATENCY_BUCKETS } from '../layout.js';

export interface Sample {
  value: number;
  labels?: Record<string, string | number>;
  metricName?: string;
}

type MetricType = 'counter' | 'gauge' | 'histogram';

/** A metric whose samples are computed at scrape time (prom-client's registry calls get()). */
class SnapshotMetric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: MetricType,
    readonly read: () => Sample[],
  ) {}

  async get() {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      values: this.read(),
      aggregator: 'sum' as const,
    };
  }

  reset(): void {}
}

/** A fixed-bucket histogram for one thread: observe() is a loop over a few bounds and two adds. */
export class Histogram {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    const b = this.bounds;
    for (let i = 0; i < b.length; i++) {
      if (value <= (b[i] as number)) {
        (this.counts[i] as number)++;
        return;
      }
    }
  }
}

/** Prometheus samples of a histogram given per-bucket (not cumulative) counts. */
export function histogramSamples(
  name: string,
  bounds: readonly number[],
  perBucket: ArrayLike<number>,
  sum: number,
  count: number,
): Sample[] {
  const out: Sample[] = [];
  let cumulative = 0;
  for (let i = 0; i < bounds.length; i++) {
    cumulative += perBucket[i] as number;
    out.push({ metricName: `${name}_bucket`, labels: { le: bounds[i] as number }, value: cumulative });
  }
  out.push({ metricName: `${name}_bucket`, labels: { le: '+Inf' }, value: count });
  out.push({ metricName: `${name}_sum`, value: sum });
  out.push({ metricName: `${name}_count`, value: count });
  return out;
}

export const HOT_PATH_BUCKETS = [1e-6, 2e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 1e-3, 5e-3] as const;

/** What the metrics read; the Audit supplies it. */
export interface MetricsSource {
  captured(): number;
  hotPath: Histogram;
  dropped(): Record<string, number>;
  errors(): Record<string, number>;
  /** Requests answered 503 before their handlers ran, by reason (closed mode, durable routes). */
  refused(): Record<string, number>;
  queueSize(): number;
  ringBytes(): { used: number; capacity: number };
  workers(): { alive: number; restarts: number };
  breakerState(): number;
  /** The workers' rows of the shared stats block, summed slot by slot (slots: `Stat`). */
  workerTotals(): readonly number[];
}

const byLabel = (label: string, values: Record<string, number>): Sample[] =>
  Object.entries(values).map(([k, value]) => ({ labels: { [label]: k }, value }));

/** Registers the audit metrics in `registry`; returns a function that removes them again. */
export function registerMetrics(registry: Registry, src: MetricsSource): () => void {
  const total = (slot: number) => [{ value: src.workerTotals()[slot] ?? 0 }];
  const metrics = [
    new SnapshotMetric('audit_events_total', 'Audit events captured', 'counter', () => [
      { value: src.captured() },
    ]),
    new SnapshotMetric(
      'audit_events_latency_seconds',
      'Main-thread cost of capturing one event (hot path)',
      'histogram',
      () =>
        histogramSamples(
          'audit_events_latency_seconds',
          src.hotPath.bounds,
          src.hotPath.counts,
          src.hotPath.sum,
          src.hotPath.count,
        ),
    ),
    new SnapshotMetric(
      'audit_errors_total',
      'Audit events lost or failed, and audit-internal errors, by reason',
      'counter',
      () => byLabel('reason', src.errors()),
    ),
    new SnapshotMetric(
      'audit_requests_refused_total',
      'Requests answered 503 before their handlers ran because their events could not be kept (AUDIT_FAILURE_MODE=closed, durable routes), by reason',
      'counter',
      () => byLabel('reason', src.refused()),
    ),
    new SnapshotMetric(
      'audit_queue_size',
      'Events captured and not yet indexed, dead-lettered, spooled or dropped',
      'gauge',
      () => [{ value: src.queueSize() }],
    ),
    new SnapshotMetric(
      'circuit_breaker_state',
      'OpenSearch circuit breaker: 0 closed, 1 open, 2 half open',
      'gauge',
      () => [{ value: src.breakerState() }],
    ),
    new SnapshotMetric('audit_events_indexed_total', 'Events acknowledged by OpenSearch', 'counter', () =>
      total(Stat.INDEXED),
    ),
    new SnapshotMetric(
      'audit_events_dead_lettered_total',
      'Events OpenSearch refused for good, kept in the dead-letter file',
      'counter',
      () => total(Stat.DEAD_LETTERED),
    ),
    new SnapshotMetric('audit_events_spooled_total', 'Events written to the local spool', 'counter', () =>
      total(Stat.SPOOLED),
    ),
    new SnapshotMetric(
      'audit_events_replayed_total',
      'Spooled events replayed into OpenSearch',
      'counter',
      () => total(Stat.REPLAYED),
    ),
    new SnapshotMetric(
      'audit_events_recovered_total',
      "An earlier process's spooled events delivered by this one",
      'counter',
      () => total(Stat.RECOVERED),
    ),
    new SnapshotMetric('audit_spool_bytes', 'Bytes in the local spool', 'gauge', () =>
      total(Stat.SPOOL_BYTES),
    ),
    new SnapshotMetric('audit_events_dropped_total', 'Events dropped, by reason', 'counter', () =>
      byLabel('reason', src.dropped()),
    ),
    new SnapshotMetric('audit_bulk_requests_total', 'OpenSearch _bulk requests by outcome', 'counter', () => {
      const t = src.workerTotals();
      return [
        { labels: { outcome: 'success' }, value: t[Stat.BULK_OK] ?? 0 },
        { labels: { outcome: 'failure' }, value: t[Stat.BULK_FAILED] ?? 0 },
        { labels: { outcome: 'abandoned' }, value: t[Stat.BULK_ABANDONED] ?? 0 },
      ];
    }),
    new SnapshotMetric(
      'audit_events_unchained_total',
      "Events stored without a hash chain position: their shard's chain-head table was full",
      'counter',
      () => total(Stat.CHAIN_OVERFLOW),
    ),
    new SnapshotMetric('audit_bulk_retries_total', 'Bulk attempts that were retries', 'counter', () =>
      total(Stat.RETRIES),
    ),
    new SnapshotMetric(
      'audit_opensearch_write_latency_seconds',
      'OpenSearch _bulk round-trip time',
      'histogram',
      () => {
        const t = src.workerTotals();
        return histogramSamples(
          'audit_opensearch_write_latency_seconds',
          WRITE_LATENCY_BUCKETS,
          t.slice(Stat.WRITE_LATENCY_BUCKETS),
          (t[Stat.WRITE_LATENCY_SUM_MICROS] ?? 0) / 1e6,
          t[Stat.WRITE_LATENCY_COUNT] ?? 0,
        );
      },
    ),
    new SnapshotMetric('audit_ring_bytes', 'Ring buffer bytes, by state', 'gauge', () => {
      const r = src.ringBytes();
      return [
        { labels: { state: 'used' }, value: r.used },
        { labels: { state: 'capacity' }, value: r.capacity },
      ];
    }),
    new SnapshotMetric('audit_workers_alive', 'Drain workers running', 'gauge', () => [
      { value: src.workers().alive },
    ]),
    new SnapshotMetric('audit_worker_restarts_total', 'Drain workers replaced after dying', 'counter', () => [
      { value: src.workers().restarts },
    ]),
  ];
  for (const m of metrics) {
    if (registry.getSingleMetric(m.name)) {
      throw new AuditError(
        'AUDIT_ERR_INVALID_OPTION',
        `registry already holds ${m.name}: pass each Audit its own prom-client Registry`,
      );
    }
  }
  for (const m of metrics) registry.registerMetric(m as never);
  return () => {
    for (const m of metrics) registry.removeSingleMetric(m.name);
  };
}
