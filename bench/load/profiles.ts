// The production load profiles (5,000 req/s sustained, a 20,000 req/s spike, 100 tenants) against
// real OpenSearch (the dev node, or the three-node cluster with `--cluster`): the audited Hono
// example under a paced open loop of the example traffic mix (unique x-request-id per request, many
// organizations), sampled for memory and ring occupancy, and ended with the accounting check:
// documents per organization in OpenSearch equal the requests answered, and no event or request
// is stored twice. The CPU of the app, of the OpenSearch JVMs and of the whole machine is read from
// /proc over the profile (traffic and catch-up), to say where the two cores' time went.
import { Client } from '@opensearch-project/opensearch';
import { storedEvents } from '../../scripts/opensearch/stored.js';
import {
  type AuditStatsLite,
  type MetricJson,
  quantile,
  runGenerator,
  settle,
  startServer,
  stopServer,
} from './children.js';
import { type MachineCpu, machineCpuUs, processCpuUs, rssMiB } from './proc.js';

/** Where the audit writes: the dev node, or every member of the cluster. */
export interface OpenSearchTarget {
  urls: string[];
  shards: number;
  replicas: number;
  /** The JVMs' pids, for their CPU; empty when the node is not one this run started. */
  pids: number[];
}

/** CPU over the profile (traffic and catch-up), in µs per answered request, and the machine's shares. */
export interface ProfileCpu {
  seconds: number;
  app_us_per_request: number;
  opensearch_us_per_request: number | null;
  /** Shares of the machine's CPU time (all cores) over the profile, in percent. */
  machine_pct: { app: number; opensearch: number | null; other: number; idle: number; steal: number };
}

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
  /** Absent in results written before the CPU was measured. */
  cpu?: ProfileCpu;
  /** Nodes, shards and replicas written to; absent in results from before `--cluster` (one node, 1 shard, 0 replicas). */
  opensearch?: { nodes: number; shards: number; replicas: number };
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

interface CpuMark {
  at: number;
  app: number;
  opensearch: number;
  machine: MachineCpu;
}

function cpuMark(appPid: number, pids: number[]): CpuMark {
  let opensearch = 0;
  for (const pid of pids) opensearch += processCpuUs(pid);
  return { at: performance.now(), app: processCpuUs(appPid), opensearch, machine: machineCpuUs() };
}

function cpuBetween(a: CpuMark, b: CpuMark, requests: number, measuredJvm: boolean): ProfileCpu {
  const app = b.app - a.app;
  const opensearch = b.opensearch - a.opensearch;
  const busy = b.machine.busy - a.machine.busy;
  const total = busy + (b.machine.idle - a.machine.idle) + (b.machine.steal - a.machine.steal);
  const pct = (x: number) => (total > 0 ? (x / total) * 100 : Number.NaN);
  return {
    seconds: (b.at - a.at) / 1000,
    app_us_per_request: app / requests,
    opensearch_us_per_request: measuredJvm ? opensearch / requests : null,
    machine_pct: {
      app: pct(app),
      opensearch: measuredJvm ? pct(opensearch) : null,
      other: pct(busy - app - (measuredJvm ? opensearch : 0)),
      idle: pct(b.machine.idle - a.machine.idle),
      steal: pct(b.machine.steal - a.machine.steal),
    },
  };
}

/** `_bulk` requests by outcome, as `success 10, failure 0, abandoned 2`. */
function bulkOutcomes(metrics: MetricJson[] | undefined): string {
  const m = metrics?.find((x) => x.name === 'audit_bulk_requests_total');
  return (m?.values ?? []).map((v) => `${v.labels?.outcome} ${v.value}`).join(', ') || 'n/a';
}

export async function runProfile(
  spec: ProfileSpec,
  target: OpenSearchTarget,
  runId: string,
): Promise<ProfileResult> {
  const prefix = `load-${runId}-${spec.name}`;
  const server = await startServer('audited', {
    AUDIT_OPENSEARCH_HOST: target.urls.map((u) => new URL(u).host).join(','),
    AUDIT_INDEX_PREFIX: prefix,
    AUDIT_SERVICE_NAME: 'load',
    AUDIT_INDEX_SHARDS: String(target.shards),
    AUDIT_INDEX_REPLICAS: String(target.replicas),
  });
  await server.ask({ track: true }, 'tracking');
  const series: number[] = [rssMiB(server.pid)];
  const sampler = setInterval(() => series.push(rssMiB(server.pid)), 1000);
  const cpuFrom = cpuMark(server.pid, target.pids);
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
  const cpu = cpuBetween(cpuFrom, cpuMark(server.pid, target.pids), gen.completed, target.pids.length > 0);
  const { report } = await server.ask<{
    report: { peak_in_flight: number; peak_ring_bytes: number; ring_capacity: number };
  }>({ report: true }, 'report');
  const { stats, metrics } = await stopServer(server);

  const client = new Client({ node: target.urls });
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
    cpu,
    opensearch: { nodes: target.urls.length, shards: target.shards, replicas: target.replicas },
    accounting,
  };
  console.log(
    `${spec.name}: ${spec.rate} req/s target over ${spec.orgs} orgs for ${spec.duration} s: achieved ${gen.rps.toFixed(0)} req/s, p50 ${result.latency_ms.p50.toFixed(2)} ms, p99 ${result.latency_ms.p99.toFixed(2)} ms, p99.9 ${result.latency_ms.p999.toFixed(2)} ms; OpenSearch write p95 ${result.opensearch_write_p95_ms.toFixed(1)} ms; spilled ${result.spilled}, caught up ${catchUpSeconds.toFixed(1)} s after; peak ring ${report.peak_in_flight} events / ${(report.peak_ring_bytes / 1024).toFixed(0)} KiB; RSS ${result.rss_mib.start.toFixed(0)}→${result.rss_mib.end.toFixed(0)} MiB (max ${result.rss_mib.max.toFixed(0)}); CPU per request app ${cpu.app_us_per_request.toFixed(1)} µs, OpenSearch ${cpu.opensearch_us_per_request?.toFixed(1) ?? 'n/a'} µs, steal ${cpu.machine_pct.steal.toFixed(0)} %; bulk requests ${bulkOutcomes(metrics)}, retries ${metrics?.find((m) => m.name === 'audit_bulk_retries_total')?.values[0]?.value ?? 'n/a'}; dropped ${JSON.stringify(Object.fromEntries(Object.entries(stats?.dropped.byReason ?? {}).filter(([, n]) => n > 0)))}; stored ${accounting.documents} of ${gen.completed} answered, ${mismatched} orgs mismatched, duplicates ${accounting.duplicate_event_ids + accounting.duplicate_requests}: ${accounting.ok ? 'OK' : 'MISMATCH'}`,
  );
  return result;
}
