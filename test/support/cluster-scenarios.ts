// The shared frame of the cluster scenarios (test/integration/cluster.test.ts): an Audit given
// every member, paced Hono traffic from 40
// organizations, snapshots of the bulk write latency histogram between the phases of a fault, and
// the end every scenario shares: every answered request stored exactly once per organization, the
// accounting exact, and the write p95 of each phase.
import { Client } from '@opensearch-project/opensearch';
import type { Audit, AuditStats } from '@pdaas/audit';
import type { Registry } from 'prom-client';
import { expect } from 'vitest';
import { type DriveOptions, drive, type Server, startApp, totalSent } from '../../examples/traffic.js';
import type { DevCluster } from '../../scripts/opensearch/dev-cluster.js';
import { storedEvents } from '../../scripts/opensearch/stored.js';
import { expectChainsIntact, expectExactAccounting, faultAudit, finish, waitFor } from './faults.js';
import { uniquePrefix } from './opensearch.js';

/** Replay after a fault waits for the cluster's recoveries, slow on two cores: up to 5 minutes. */
const SETTLE_MS = 300_000;

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

export interface Scenario {
  audit: Audit;
  registry: Registry;
  prefix: string;
  app: Server;
  /** Takes the next write-latency snapshot: the phases are the spans between snapshots. */
  mark(): Promise<void>;
  /** Starts the traffic and waits until the first events are indexed; `sent` settles when it ends. */
  startTraffic(opts: Pick<DriveOptions, 'until' | 'signal'>): Promise<{ sent: Promise<Map<string, number>> }>;
  /**
   * Ends the scenario: stops the app, waits until everything is stored or counted, and checks that
   * every answered request is stored exactly once per organization with the accounting exact. The
   * index is deleted afterwards (later restarts would otherwise recover its shards too). Returns
   * the write p95 of each phase, the last one from the final mark to the end.
   */
  judge(sent: Map<string, number>): Promise<{ final: AuditStats; metrics: string; p95: string[] }>;
}

export class ClusterScenarios {
  #client: Client | undefined;

  constructor(readonly cluster: DevCluster) {}

  get client(): Client {
    if (!this.#client) throw new Error('ClusterScenarios: setUp() first');
    return this.#client;
  }

  async setUp(): Promise<void> {
    await this.cluster.start();
    this.#client = new Client({ node: this.cluster.urls });
  }

  async tearDown(): Promise<void> {
    await this.#client?.close();
    await this.cluster.stop();
  }

  async scenario(label: string, urls: string[] = this.cluster.urls, timeoutSeconds = 10): Promise<Scenario> {
    // Each scenario starts from the whole cluster (every member in, every primary active), whatever
    // the one before left; replicas of earlier indices may still be recovering.
    await this.cluster.start({ until: 'joined' });
    const prefix = uniquePrefix(label);
    const { audit, registry, logs } = await faultAudit(prefix, undefined, {
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
    const client = this.client;
    return {
      audit,
      registry,
      prefix,
      app,
      mark,
      async startTraffic(opts) {
        const sent = drive(app.url, 1e9, { orgs: 40, prefix, rate: 150, concurrency: 6, ...opts });
        await waitFor('the first events indexed', () => audit.stats().indexed > 0, 60_000);
        return { sent };
      },
      async judge(sent) {
        try {
          return await judge(sent);
        } catch (err) {
          // What a failed scenario leaves to go on: the audit's own log, and where every shard is.
          // CI keeps only the tail of its output, so the essentials also ride on the error itself.
          console.log(`${label}: the audit's log\n${logs.lines.join('\n')}`);
          const shards = await client.cat
            .shards({ index: `${prefix}-*`, v: true })
            .catch((e) => ({ body: String(e) }));
          console.log(`${label}: shards\n${shards.body}`);
          if (err instanceof Error) {
            const tail = logs.lines.slice(-12).map((l) => l.slice(0, 300));
            err.message += `\nstats ${JSON.stringify(audit.stats())}\nthe audit's last log lines:\n${tail.join('\n')}`;
          }
          throw err;
        }
      },
    };
    async function judge(sent: Map<string, number>) {
      const { final, metrics } = await finish(app, audit, registry, SETTLE_MS);
      snapshots.push(writeBuckets(metrics));
      expect(final.captured).toBe(totalSent(sent));
      expectExactAccounting(final);
      expect(final.indexed).toBe(totalSent(sent));
      const stored = await storedEvents(client, `${prefix}-*`);
      expect(stored.duplicateEventIds, 'an event_id appears twice').toEqual([]);
      expect(stored.duplicateRequests, 'a request was stored twice').toEqual([]);
      expect(stored.total).toBe(totalSent(sent));
      expect(Object.fromEntries(stored.perOrg)).toEqual(Object.fromEntries(sent));
      await expectChainsIntact(prefix, [...stored.perOrg.keys()], client);
      await client.indices.delete({ index: `${prefix}-*` });
      const p95 = snapshots
        .slice(1)
        .map((after, i) => p95Between(snapshots[i] as Map<number, number>, after));
      return { final, metrics, p95 };
    }
  }

  /**
   * What an operator does when the cluster stays yellow after a lost quorum: OpenSearch 2.19 can
   * leave a primary STARTED but "not in primary mode" after the election churn of two members
   * rejoining at once (seen here: every write to that shard answers retry_on_primary_exception and
   * its replica's recovery waits in `init` for good). Waits up to `ms` for green; if it does not
   * come, restarts the members holding the primaries of shards whose replica is not started, as
   * the runbook says. Returns what was done, for the scenario's summary.
   */
  async healStuckPrimaries(pattern: string, ms = 90_000): Promise<string> {
    if (await this.cluster.greenWithin(ms)) return 'green without help';
    const res = await this.client.cat.shards({
      index: pattern,
      format: 'json',
      h: ['index', 'shard', 'prirep', 'state', 'node'],
    });
    const rows = res.body as unknown as Array<{
      index: string;
      shard: string;
      prirep: string;
      state: string;
      node: string;
    }>;
    const stuck = new Set(
      rows.filter((r) => r.prirep === 'r' && r.state !== 'STARTED').map((r) => `${r.index}/${r.shard}`),
    );
    const members = new Set<number>();
    for (const r of rows) {
      if (r.prirep === 'p' && stuck.has(`${r.index}/${r.shard}`))
        members.add(Number(r.node.slice(r.node.lastIndexOf('-') + 1)));
    }
    for (const n of members) {
      await this.cluster.stopNode(n);
      await this.cluster.startNode(n, { until: 'joined' });
    }
    return `not green after ${ms / 1000} s (replicas not started: ${[...stuck].join(', ')}); restarted member ${[...members].join(', ')}`;
  }

  /** Member numbers by how many primaries of `pattern` they hold, most first. */
  async byPrimaries(pattern: string): Promise<number[]> {
    const res = await this.client.cat.shards({
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
}

/** ms from `since` until the audit has indexed more than `indexed` events. */
export async function resumed(audit: Audit, indexed: number, since: number): Promise<number> {
  await waitFor('writes to resume', () => audit.stats().indexed > indexed, 180_000);
  return Date.now() - since;
}
