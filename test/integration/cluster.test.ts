// The deployment guide's production shape: three nodes, five primaries with one replica each, the
// app given every node. Nodes are taken away for real (kill -9, two of three down) while the Hono
// example takes paced traffic from many organizations; afterwards the cluster must hold every
// answered request exactly once, per organization, with the accounting exact. Each scenario prints
// the bulk write p95 before, during and after the fault and the time until writes resumed.
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@opensearch-project/opensearch';
import type { Audit } from '@pdaas/audit';
import type { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drive, startApp, totalSent } from '../../examples/traffic.js';
import { DevCluster } from '../../scripts/opensearch/dev-cluster.js';
import { storedEvents } from '../../scripts/opensearch/stored.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { expectExactAccounting, faultAudit, finish, waitFor } from '../support/faults.js';
import { uniquePrefix } from '../support/opensearch.js';

const cluster = new DevCluster({
  name: 'test-cluster',
  basePort: Number(process.env.AUDIT_TEST_CLUSTER_PORT ?? 9431),
  fresh: true,
  // Two cores shared by four nodes, the app and its traffic: recoveries after a fault are slow.
  startTimeoutMs: 300_000,
  log: () => undefined,
});
let client: Client;
/** Replay after a fault waits for the cluster's recoveries, slow on two cores: up to 5 minutes. */
const SETTLE_MS = 300_000;

beforeAll(async () => {
  await cluster.start();
  client = new Client({ node: cluster.urls });
}, 300_000);

afterAll(async () => {
  await client?.close();
  await cluster.stop();
}, 120_000);

/** The cumulative bucket counts of the bulk write latency histogram. */
function writeBuckets(metrics: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const m of metrics.matchAll(
    /^audit_opensearch_write_latency_seconds_bucket\{le="([^"]+)"[^}]*\} (\d+)/gm,
  )) {
    const le = m[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[1]);
    out.set(le, (out.get(le) ?? 0) + Number(m[2]));
  }
  return out;
}

/** The bucket bound under which 95 % of the writes between two snapshots fell, in ms ("none" without writes). */
function p95Between(before: Map<number, number>, after: Map<number, number>): string {
  const les = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Number.POSITIVE_INFINITY) ?? 0) - (before.get(Number.POSITIVE_INFINITY) ?? 0);
  if (total === 0) return 'none';
  for (const le of les) {
    if ((after.get(le) ?? 0) - (before.get(le) ?? 0) >= 0.95 * total)
      return le === Number.POSITIVE_INFINITY ? '> largest bucket' : `≤ ${le * 1000} ms`;
  }
  return 'n/a';
}

interface Scenario {
  audit: Audit;
  registry: Registry;
  prefix: string;
  snapshots: Map<number, number>[];
  /** Takes the next write-latency snapshot. */
  mark(): Promise<void>;
}

async function scenario(
  label: string,
  urls: string[] = cluster.urls,
  timeoutSeconds = 10,
): Promise<Scenario & { app: Awaited<ReturnType<typeof startApp>> }> {
  // Each scenario starts from the whole cluster (every member in, every primary active), whatever
  // the one before left; replicas of earlier indices may still be recovering.
  await cluster.start({ until: 'joined' });
  const prefix = uniquePrefix(label);
  const { audit, registry } = await faultAudit(prefix, undefined, {
    opensearch: { url: urls, timeoutSeconds },
    indexShards: 5,
    indexReplicas: 1,
  });
  const app = await startApp('hono', audit);
  const snapshots: Map<number, number>[] = [];
  const mark = async () => {
    snapshots.push(writeBuckets(await registry.metrics()));
  };
  await mark();
  return { audit, registry, prefix, snapshots, mark, app };
}

/** Member numbers by how many primaries of `index` they hold, most first. */
async function byPrimaries(pattern: string): Promise<number[]> {
  const res = await client.cat.shards({
    index: pattern,
    format: 'json',
    h: ['index', 'shard', 'prirep', 'state', 'node'],
  });
  const counts = new Map<string, number>();
  for (const s of res.body as unknown as Array<{ prirep: string; state: string; node: string }>) {
    if (s.prirep === 'p' && s.state === 'STARTED') counts.set(s.node, (counts.get(s.node) ?? 0) + 1);
  }
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([node]) => Number(node.slice(node.lastIndexOf('-') + 1)));
}

/**
 * Every answered request stored exactly once, per organization. Then the scenario's index goes:
 * the restarts of later scenarios would otherwise recover its shards too, and wait for them.
 */
async function expectEverythingOnce(prefix: string, sent: Map<string, number>): Promise<void> {
  const stored = await storedEvents(client, `${prefix}-*`);
  expect(stored.duplicateEventIds, 'an event_id appears twice').toEqual([]);
  expect(stored.duplicateRequests, 'a request was stored twice').toEqual([]);
  expect(stored.total).toBe(totalSent(sent));
  expect(Object.fromEntries(stored.perOrg)).toEqual(Object.fromEntries(sent));
  await client.indices.delete({ index: `${prefix}-*` });
}

/** ms from `since` until the audit has indexed more than `indexed` events. */
async function resumed(audit: Audit, indexed: number, since: number): Promise<number> {
  await waitFor('writes to resume', () => audit.stats().indexed > indexed, 180_000);
  return Date.now() - since;
}

describe('three-node cluster under paced load', () => {
  it('kill -9 of the node holding the most primaries: writes go on, every request stored once', async () => {
    const s = await scenario('cluster-kill');
    const traffic = drive(s.app.url, 1e9, {
      orgs: 40,
      prefix: s.prefix,
      until: Date.now() + 30_000,
      rate: 150,
      concurrency: 6,
    });
    await waitFor('the first events indexed', () => s.audit.stats().indexed > 0, 60_000);
    await sleep(3_000);
    await s.mark();
    const [victim] = await byPrimaries(`${s.prefix}-*`);
    expect(victim, 'some member holds a primary').toBeGreaterThan(0);
    const killedAt = Date.now();
    const indexedAtKill = s.audit.stats().indexed;
    await cluster.stopNode(victim as number, { kill: true });
    const recoveryMs = await resumed(s.audit, indexedAtKill, killedAt);
    await sleep(Math.max(0, 10_000 - (Date.now() - killedAt)));
    await s.mark();
    await cluster.startNode(victim as number);
    const sent = await traffic;
    const { final, metrics } = await finish(s.app, s.audit, s.registry, SETTLE_MS);
    s.snapshots.push(writeBuckets(metrics));

    expect(final.captured).toBe(totalSent(sent));
    expectExactAccounting(final);
    expect(final.indexed).toBe(totalSent(sent));
    await expectEverythingOnce(s.prefix, sent);
    const [before, during, after] = [0, 1, 2].map((i) =>
      p95Between(s.snapshots[i] as Map<number, number>, s.snapshots[i + 1] as Map<number, number>),
    );
    console.log(
      `cluster kill -9 of member ${victim}: ${totalSent(sent)} requests, ${sent.size} organizations, writes resumed after ${recoveryMs} ms; write p95 before ${before}, during ${during}, after ${after}`,
    );
  }, 600_000);

  // Not in CI yet: on this two-core machine it passed four runs of seven. Once a green wait after
  // the restart timed out under full load; twice the spool had not drained 120 s and 300 s after
  // the members were back. Run it with AUDIT_TEST_CLUSTER_QUORUM=1 until the cause is found.
  it.runIf(process.env.AUDIT_TEST_CLUSTER_QUORUM === '1')(
    'two of three nodes down (no quorum): events go to the spool, then replay once the cluster is back',
    async () => {
      const s = await scenario('cluster-quorum');
      const traffic = drive(s.app.url, 1e9, {
        orgs: 40,
        prefix: s.prefix,
        until: Date.now() + 40_000,
        rate: 150,
        concurrency: 6,
      });
      await waitFor('the first events indexed', () => s.audit.stats().indexed > 0, 60_000);
      await sleep(3_000);
      await s.mark();
      const downAt = Date.now();
      await Promise.all([cluster.stopNode(2, { kill: true }), cluster.stopNode(3, { kill: true })]);
      // Without a cluster manager the last node refuses writes: the pipeline must spool.
      await waitFor('events spooled', () => s.audit.stats().spooled > 0, 120_000);
      await sleep(10_000);
      await s.mark();
      const indexedBefore = s.audit.stats().indexed;
      const backAt = Date.now();
      // Back in the cluster is enough to write again; replicas may still be recovering.
      await Promise.all([
        cluster.startNode(2, { until: 'joined' }),
        cluster.startNode(3, { until: 'joined' }),
      ]);
      const recoveryMs = await resumed(s.audit, indexedBefore, backAt);
      const sent = await traffic;
      const { final, metrics } = await finish(s.app, s.audit, s.registry, SETTLE_MS);
      s.snapshots.push(writeBuckets(metrics));

      expect(final.captured).toBe(totalSent(sent));
      expectExactAccounting(final);
      expect(final.indexed).toBe(totalSent(sent));
      expect(metrics).toMatch(/audit_events_spooled_total [1-9]/);
      expect(metrics).toMatch(/audit_events_replayed_total [1-9]/);
      await expectEverythingOnce(s.prefix, sent);
      const [before, during, after] = [0, 1, 2].map((i) =>
        p95Between(s.snapshots[i] as Map<number, number>, s.snapshots[i + 1] as Map<number, number>),
      );
      console.log(
        `cluster two of three down for ${Math.round((backAt - downAt) / 1000)} s: ${totalSent(sent)} requests, ${sent.size} organizations, writes resumed ${recoveryMs} ms after the nodes were started; write p95 before ${before}, during ${during}, after ${after}`,
      );
    },
    600_000,
  );

  it('a rolling restart of all three nodes, one at a time, green in between: every request stored once', async () => {
    const s = await scenario('cluster-rolling');
    const end = new AbortController();
    const traffic = drive(s.app.url, 1e9, {
      orgs: 40,
      prefix: s.prefix,
      signal: end.signal,
      rate: 150,
      concurrency: 6,
    });
    await waitFor('the first events indexed', () => s.audit.stats().indexed > 0, 60_000);
    await s.mark();
    const started = Date.now();
    // The guide's upgrade path: stop a node cleanly, start it, wait for green, then the next. On
    // two cores under this load a replica's recovery has taken minutes (once it hung in CI): after
    // a minute without green the next node goes anyway, once every primary is active (yellow).
    const green: boolean[] = [];
    for (const n of [1, 2, 3]) {
      await cluster.stopNode(n);
      await cluster.startNode(n, { until: 'joined' });
      green.push(await cluster.greenWithin(60_000));
    }
    const restartMs = Date.now() - started;
    await s.mark();
    await sleep(3_000);
    end.abort();
    const sent = await traffic;
    const { final, metrics } = await finish(s.app, s.audit, s.registry, SETTLE_MS);
    s.snapshots.push(writeBuckets(metrics));

    expect(final.captured).toBe(totalSent(sent));
    expectExactAccounting(final);
    expect(final.indexed).toBe(totalSent(sent));
    await expectEverythingOnce(s.prefix, sent);
    const [during, after] = [0, 1].map((i) =>
      p95Between(s.snapshots[i] as Map<number, number>, s.snapshots[i + 1] as Map<number, number>),
    );
    console.log(
      `cluster rolling restart in ${Math.round(restartMs / 1000)} s (green within a minute after restart ${green.map((g, i) => `${i + 1}: ${g ? 'yes' : 'no'}`).join(', ')}): ${totalSent(sent)} requests, ${sent.size} organizations; write p95 during ${during}, after ${after}`,
    );
  }, 600_000);

  it('one node answering slower than the client waits: the bulk goes to another node, stored once', async () => {
    // The first node behind a proxy that forwards at once but holds the answer past the client's
    // 4 s timeout: the write happens there, the client gives up, and our retry sends the same
    // documents to another node, where their deterministic ids answer 409.
    const proxy = await startFaultProxy(cluster.urls[0] as string);
    try {
      const s = await scenario('cluster-slow', [proxy.url, ...cluster.urls.slice(1)], 4);
      const traffic = drive(s.app.url, 1e9, {
        orgs: 40,
        prefix: s.prefix,
        until: Date.now() + 25_000,
        rate: 150,
        concurrency: 6,
      });
      await waitFor('the first events indexed', () => s.audit.stats().indexed > 0, 60_000);
      await s.mark();
      const slowFrom = proxy.counts.requests;
      proxy.mode = { answerDelayMs: 6_000 };
      await sleep(12_000);
      proxy.mode = {};
      const slowRequests = proxy.counts.requests - slowFrom;
      await s.mark();
      const sent = await traffic;
      const { final, metrics } = await finish(s.app, s.audit, s.registry, SETTLE_MS);
      s.snapshots.push(writeBuckets(metrics));

      expect(slowRequests, 'the slow node was asked while slow').toBeGreaterThan(0);
      expect(final.captured).toBe(totalSent(sent));
      expectExactAccounting(final);
      expect(final.indexed).toBe(totalSent(sent));
      await expectEverythingOnce(s.prefix, sent);
      const [before, during, after] = [0, 1, 2].map((i) =>
        p95Between(s.snapshots[i] as Map<number, number>, s.snapshots[i + 1] as Map<number, number>),
      );
      console.log(
        `cluster slow node (answers held 6 s, client timeout 4 s) for 12 s: ${totalSent(sent)} requests, ${slowRequests} requests reached the slow node; write p95 before ${before}, during ${during}, after ${after}`,
      );
    } finally {
      await proxy.close();
    }
  }, 300_000);
});
