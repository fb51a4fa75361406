// The demo: the Hono example with auditing on, a few seconds of traffic across 100 organizations,
// then everything read back from OpenSearch and checked. Starts the project's OpenSearch dev node
// unless AUDIT_OPENSEARCH_HOST names one, and stops whatever it started.
import { Client } from '@opensearch-project/opensearch';
import { createAudit } from '@pdaas/audit';
import { Registry } from 'prom-client';
import { DevNode } from '../scripts/opensearch/dev-node.js';
import { drive, startApp, totalSent } from './traffic.js';

const SECONDS = Number(process.env.DEMO_SECONDS ?? 3);
const ORGS = 100;

const node = process.env.AUDIT_OPENSEARCH_HOST ? undefined : new DevNode();
const startedNode = node !== undefined && node.pid() === undefined;
const url = node ? await node.start() : undefined;
const where = url ? new URL(url) : undefined;

const run = `demo-${Date.now().toString(36)}`;
const audit = await createAudit({
  registry: new Registry(),
  serviceName: 'demo',
  flushIntervalSeconds: 1,
  excludedPaths: ['/health', '/metrics'],
  // One node cannot hold replicas; a production cluster keeps 5 shards and 1 replica.
  indexShards: 1,
  indexReplicas: 0,
  ...(where && { opensearch: { host: where.hostname, port: Number(where.port) } }),
});
const client = new Client({ node: audit.config.opensearch.url as string });
let exitCode = 1;
try {
  const app = await startApp('hono', audit);
  console.log(`\nDriving ${SECONDS} s of traffic at ${app.url} across ${ORGS} organizations...`);
  const sent = await drive(app.url, Number.MAX_SAFE_INTEGER, {
    orgs: ORGS,
    prefix: run,
    until: Date.now() + SECONDS * 1000,
  });
  const metrics = await (await fetch(`${app.url}/metrics`)).text();
  await app.close();
  const stats = await audit.close();
  const total = totalSent(sent);

  const index = `${audit.config.indexPrefix}-demo-*`;
  await client.indices.refresh({ index });
  const thisRun = { prefix: { request_id: `${run}-` } };
  const res = await client.search({
    index,
    body: {
      size: 2,
      track_total_hits: true,
      query: thisRun,
      sort: [{ occurred_at: 'desc' }],
      aggs: { orgs: { terms: { field: 'organization_id', size: ORGS * 2 } } },
    } as never,
  });
  const body = res.body as unknown as {
    hits: { total: { value: number }; hits: { _source: unknown }[] };
    aggregations: { orgs: { buckets: { key: string; doc_count: number }[] } };
  };
  const stored = new Map(body.aggregations.orgs.buckets.map((b) => [b.key, b.doc_count]));

  console.log('\norganization   sent  indexed');
  const orgs = [...sent.keys()].sort();
  let mismatched = 0;
  for (const [i, org] of orgs.entries()) {
    const ok = stored.get(org) === sent.get(org);
    if (!ok) mismatched++;
    if (i < 5 || !ok)
      console.log(
        `${org.padEnd(12)} ${String(sent.get(org)).padStart(6)} ${String(stored.get(org) ?? 0).padStart(8)}${ok ? '' : '  MISMATCH'}`,
      );
  }
  console.log(`... ${orgs.length} organizations, ${mismatched} mismatched`);

  console.log('\nTwo sample events:');
  for (const hit of body.hits.hits) console.log(JSON.stringify(hit._source, null, 2));

  console.log('\nMetrics excerpt (GET /metrics):');
  const wanted =
    /^(audit_events_total|audit_events_latency_seconds_(sum|count)|audit_queue_size|circuit_breaker_state|audit_opensearch_write_latency_seconds_(sum|count)|audit_bulk_requests_total)/;
  for (const line of metrics.split('\n')) if (wanted.test(line)) console.log(`  ${line}`);
  console.log(`\naccounting: ${JSON.stringify(stats)}`);

  const indexed = body.hits.total.value;
  console.log(`\nindexed ${indexed} of ${total} events`);
  exitCode = indexed === total && mismatched === 0 && stats.indexed === total ? 0 : 1;
} finally {
  await client.close();
  if (startedNode) await node?.stop();
}
process.exit(exitCode);
