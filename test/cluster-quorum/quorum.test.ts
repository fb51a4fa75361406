// Two of three nodes down at once (no quorum): the last node refuses writes, the events go to the
// spool and are replayed once the cluster is back, each stored once. Not in CI yet: on the
// two-core CI machine it passed four runs of seven (once a green wait after the restart timed out
// under full load; twice the spool had not drained 120 s and 300 s after the members were back).
// Run it with `npm run test:cluster-quorum` until the cause is found.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totalSent } from '../../examples/traffic.js';
import { DevCluster } from '../../scripts/opensearch/dev-cluster.js';
import { ClusterScenarios, resumed } from '../support/cluster-scenarios.js';
import { waitFor } from '../support/faults.js';

const cluster = new DevCluster({
  name: 'quorum-cluster',
  basePort: Number(process.env.AUDIT_TEST_CLUSTER_PORT ?? 9431),
  fresh: true,
  startTimeoutMs: 300_000,
  log: () => undefined,
});
const scenarios = new ClusterScenarios(cluster);

beforeAll(() => scenarios.setUp(), 300_000);
afterAll(() => scenarios.tearDown(), 120_000);

describe('three-node cluster under paced load', () => {
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
    const { metrics, p95 } = await s.judge(sent);
    expect(metrics).toMatch(/audit_events_spooled_total [1-9]/);
    expect(metrics).toMatch(/audit_events_replayed_total [1-9]/);
    console.log(
      `cluster two of three down for ${Math.round((backAt - downAt) / 1000)} s: ${totalSent(sent)} requests, ${sent.size} organizations, writes resumed ${recoveryMs} ms after the nodes were started; write p95 before ${p95[0]}, during ${p95[1]}, after ${p95[2]}`,
    );
  }, 600_000);
});
