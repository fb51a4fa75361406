// The deployment guide's production shape: three nodes, five primaries with one replica each, the
// app given every node. Nodes are taken away for real (kill -9, a rolling restart, a node slower
// than the client's timeout) while the Hono example takes paced traffic from 40 organizations;
// afterwards the cluster must hold every answered request exactly once, per organization, with the
// accounting exact. Each scenario prints the bulk write p95 of each phase of its fault; a failed
// one prints the audit's log and where every shard was.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totalSent } from '../../examples/traffic.js';
import { DevCluster } from '../../scripts/opensearch/dev-cluster.js';
import { ClusterScenarios, resumed } from '../support/cluster-scenarios.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { waitFor } from '../support/faults.js';

const cluster = new DevCluster({
  name: 'test-cluster',
  basePort: Number(process.env.AUDIT_TEST_CLUSTER_PORT ?? 9431),
  fresh: true,
  // Two cores shared by four nodes, the app and its traffic: recoveries after a fault are slow.
  startTimeoutMs: 300_000,
  log: () => undefined,
});
const scenarios = new ClusterScenarios(cluster);

beforeAll(() => scenarios.setUp(), 300_000);
afterAll(() => scenarios.tearDown(), 120_000);

describe('three-node cluster under paced load', () => {
  it('kill -9 of the node holding the most primaries: writes go on, every request stored once', async () => {
    const s = await scenarios.scenario('cluster-kill');
    const traffic = await s.startTraffic({ until: Date.now() + 30_000 });
    await sleep(3_000);
    await s.mark();
    const [victim] = await scenarios.byPrimaries(`${s.prefix}-*`);
    expect(victim, 'some member holds a primary').toBeGreaterThan(0);
    const killedAt = Date.now();
    const indexedAtKill = s.audit.stats().indexed;
    await cluster.stopNode(victim as number, { kill: true });
    const recoveryMs = await resumed(s.audit, indexedAtKill, killedAt);
    await sleep(Math.max(0, 10_000 - (Date.now() - killedAt)));
    await s.mark();
    await cluster.startNode(victim as number);
    const sent = await traffic.sent;
    const { p95 } = await s.judge(sent);
    console.log(
      `cluster kill -9 of member ${victim}: ${totalSent(sent)} requests, ${sent.size} organizations, writes resumed after ${recoveryMs} ms; write p95 before ${p95[0]}, during ${p95[1]}, after ${p95[2]}`,
    );
  }, 600_000);

  it('a rolling restart of all three nodes, one at a time, green in between: every request stored once', async () => {
    const s = await scenarios.scenario('cluster-rolling');
    const end = new AbortController();
    const traffic = await s.startTraffic({ signal: end.signal });
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
    const sent = await traffic.sent;
    const { p95 } = await s.judge(sent);
    console.log(
      `cluster rolling restart in ${Math.round(restartMs / 1000)} s (green within a minute after restart ${green.map((g, i) => `${i + 1}: ${g ? 'yes' : 'no'}`).join(', ')}): ${totalSent(sent)} requests, ${sent.size} organizations; write p95 during ${p95[1]}, after ${p95[2]}`,
    );
  }, 600_000);

  it('one node answering slower than the client waits: the bulk goes to another node, stored once', async () => {
    // The first node behind a proxy that forwards at once but holds the answer past the client's
    // 4 s timeout: the write happens there, the client gives up, and our retry sends the same
    // documents to another node, where their deterministic ids answer 409.
    const proxy = await startFaultProxy(cluster.urls[0] as string);
    try {
      const s = await scenarios.scenario('cluster-slow', [proxy.url, ...cluster.urls.slice(1)], 4);
      const traffic = await s.startTraffic({ until: Date.now() + 25_000 });
      await s.mark();
      const slowFrom = proxy.counts.requests;
      proxy.mode = { answerDelayMs: 6_000 };
      await sleep(12_000);
      proxy.mode = {};
      const slowRequests = proxy.counts.requests - slowFrom;
      await s.mark();
      const sent = await traffic.sent;
      expect(slowRequests, 'the slow node was asked while slow').toBeGreaterThan(0);
      const { p95 } = await s.judge(sent);
      console.log(
        `cluster slow node (answers held 6 s, client timeout 4 s) for 12 s: ${totalSent(sent)} requests, ${slowRequests} requests reached the slow node; write p95 before ${p95[0]}, during ${p95[1]}, after ${p95[2]}`,
      );
    } finally {
      await proxy.close();
    }
  }, 300_000);

  it('two of three nodes down (no quorum): events go to the spool, then replay once the cluster is back', async () => {
    const s = await scenarios.scenario('cluster-quorum');
    const traffic = await s.startTraffic({ until: Date.now() + 40_000 });
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
    await Promise.all([cluster.startNode(2, { until: 'joined' }), cluster.startNode(3, { until: 'joined' })]);
    const recoveryMs = await resumed(s.audit, indexedBefore, backAt);
    const sent = await traffic.sent;
    const healed = await scenarios.healStuckPrimaries(`${s.prefix}-*`);
    const { metrics, p95 } = await s.judge(sent);
    expect(metrics).toMatch(/audit_events_spooled_total [1-9]/);
    expect(metrics).toMatch(/audit_events_replayed_total [1-9]/);
    console.log(
      `cluster two of three down for ${Math.round((backAt - downAt) / 1000)} s: ${totalSent(sent)} requests, ${sent.size} organizations, writes resumed ${recoveryMs} ms after the nodes were started; cluster after the fault: ${healed}; write p95 before ${p95[0]}, during ${p95[1]}, after ${p95[2]}`,
    );
  }, 600_000);
});
