// The production load profiles (5,000 req/s sustained, a 20,000 req/s spike, 100 tenants) against a real OpenSearch node: the audited Hono example
// under a paced open loop of the example traffic mix (unique x-request-id per request, many
// organizations), sampled for memory and ring occupancy, and ended with the accounting check:
// documents per organization in OpenSearch equal the requests answered, and no event or request
// is stored twice.
import { Client } from '@opensearch-project/opensearch';
import { storedEvents } from '../../scripts/opensearch/stored.js';
import { type AuditStatsLite, quantile, runGenerator, settle, startServer, stopServer } from './children.js';
import { rssMiB } from './proc.js';

export interface ProfileSpec {
  name: 'sustained' | 'spike' | 'multi-tenant';
  rate: number;
  duration: number;
  orgs: number;
}

export interface ProfileResult extends ProfileSpec {
  achieved_rps: number;
  scheduled: number;
  answered: number;
  unsent: number;
  errors: number;
  unexpected_status: number;
  latency_ms: { p50: number; p99: number; p999: number; max: number };
  opensearch_write_p95_ms: number;
  hot_path_p95_us: number;
  /** Events an overload sent to the spool (and replay brought to OpenSearch). */
  spilled: number;
  /** From the end of the traffic until every event was in OpenSearch. */
  catch_up_seconds: number;
  peak_in_flight: number;
  peak_ring_bytes: number;
  ring_capacity: number;
  rss_mib: { start: number; end: number; max: number; growth_pct: number; series: number[] };
  stats: AuditStatsLite | undefined;
  accounting: {
    documents: number;
    organizations: number;
    organizations_mismatched: number;
    duplicate_event_ids: number;
    duplicate_requests: number;
    ok: boolean;
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

/** Growth of RSS from early in the run (after the first 10 %) to its last 10 %, in percent. */
function growth(series: number[]): number {
  if (series.length < 5) return Number.NaN;
  const tenth = Math.max(1, Math.floor(series.length / 10));
  const early = median(series.slice(tenth, 2 * tenth));
  const late = median(series.slice(-tenth));
  return ((late - early) / early) * 100;
}

export async function runProfile(
  spec: ProfileSpec,
  opensearchUrl: string,
  runId: string,
): Promise<ProfileResult> {
  const url = new URL(opensearchUrl);
  const prefix = `load-${runId}-${spec.name}`;
  const server = await startServer('audited', {
    AUDIT_OPENSEARCH_HOST: url.hostname,
    AUDIT_OPENSEARCH_PORT: url.port,
    AUDIT_INDEX_PREFIX: prefix,
    AUDIT_SERVICE_NAME: 'load',
    // One node holds no replicas; production's 5 shards stay a flag of `pdaas-audit setup`.
    AUDIT_INDEX_SHARDS: '1',
    AUDIT_INDEX_REPLICAS: '0',
  });
  await server.ask({ track: true }, 'tracking');
  const series: number[] = [rssMiB(server.pid)];
  const sampler = setInterval(() => series.push(rssMiB(server.pid)), 1000);
  const gen = await runGenerator({
    port: server.port,
    mode: 'paced',
    rate: spec.rate,
    duration: spec.duration,
    connections: 512,
    // The first seconds (a cold JIT, the day's index created) count for accounting, not latency.
    warmup: Math.min(5, spec.duration / 5),
    mix: { orgs: spec.orgs, prefix },
  });
  clearInterval(sampler);
  series.push(rssMiB(server.pid));
  // Everything answered must reach OpenSearch, including what an overload spilled to the spool.
  const settleFrom = performance.now();
  await settle(server, 300_000, true);
  const catchUpSeconds = (performance.now() - settleFrom) / 1000;
  const { report } = await server.ask<{
    report: { peak_in_flight: number; peak_ring_bytes: number; ring_capacity: number };
  }>({ report: true }, 'report');
  const { stats, metrics } = await stopServer(server);

  const client = new Client({ node: opensearchUrl });
  const index = `${prefix}-*`;
  const found = await storedEvents(client, index);
  await client.indices.delete({ index });
  await client.close();
  const stored = found.perOrg;
  const sent = gen.per_org ?? {};
  const orgs = new Set([...stored.keys(), ...Object.keys(sent)]);
  let mismatched = 0;
  for (const org of orgs) if ((stored.get(org) ?? 0) !== (sent[org] ?? 0)) mismatched++;
  const accounting = {
    documents: found.total,
    organizations: orgs.size,
    organizations_mismatched: mismatched,
    duplicate_event_ids: found.duplicateEventIds.length,
    duplicate_requests: found.duplicateRequests.length,
    ok: false,
  };
  accounting.ok =
    mismatched === 0 &&
    accounting.documents === gen.completed &&
    accounting.duplicate_event_ids === 0 &&
    accounting.duplicate_requests === 0 &&
    stats?.dropped.total === 0 &&
    stats.captured === gen.completed;

  const result: ProfileResult = {
    ...spec,
    achieved_rps: gen.rps,
    scheduled: gen.scheduled,
    answered: gen.completed,
    unsent: gen.unsent,
    errors: gen.errors,
    unexpected_status: gen.unexpected_status,
    latency_ms: {
      p50: gen.p50_us / 1000,
      p99: gen.p99_us / 1000,
      p999: gen.p999_us / 1000,
      max: gen.max_us / 1000,
    },
    opensearch_write_p95_ms: quantile(metrics, 'audit_opensearch_write_latency_seconds', 0.95) * 1000,
    hot_path_p95_us: quantile(metrics, 'audit_events_latency_seconds', 0.95) * 1e6,
    spilled: metrics?.find((m) => m.name === 'audit_events_spooled_total')?.values[0]?.value ?? 0,
    catch_up_seconds: catchUpSeconds,
    peak_in_flight: report.peak_in_flight,
    peak_ring_bytes: report.peak_ring_bytes,
    ring_capacity: report.ring_capacity,
    rss_mib: {
      start: series[0] ?? Number.NaN,
      end: series.at(-1) ?? Number.NaN,
      max: Math.max(...series),
      growth_pct: growth(series),
      series: series.map((x) => Math.round(x * 10) / 10),
    },
    stats,
    accounting,
  };
  console.log(
    `${spec.name}: ${spec.rate} req/s target over ${spec.orgs} orgs for ${spec.duration} s: achieved ${gen.rps.toFixed(0)} req/s, p50 ${result.latency_ms.p50.toFixed(2)} ms, p99 ${result.latency_ms.p99.toFixed(2)} ms, p99.9 ${result.latency_ms.p999.toFixed(2)} ms; OpenSearch write p95 ${result.opensearch_write_p95_ms.toFixed(1)} ms; spilled ${result.spilled}, caught up ${catchUpSeconds.toFixed(1)} s after; peak ring ${report.peak_in_flight} events / ${(report.peak_ring_bytes / 1024).toFixed(0)} KiB; RSS ${result.rss_mib.start.toFixed(0)}→${result.rss_mib.end.toFixed(0)} MiB (max ${result.rss_mib.max.toFixed(0)}); stored ${accounting.documents} of ${gen.completed} answered, ${mismatched} orgs mismatched, duplicates ${accounting.duplicate_event_ids + accounting.duplicate_requests}: ${accounting.ok ? 'OK' : 'MISMATCH'}`,
  );
  return result;
}
