// The demo: the Hono example with auditing on, a few seconds of traffic across 100 organizations,
// then every event read back and checked, organization by organization.
//   npm run demo                  the embedded default: no OpenSearch, events go to the local spool
//                                 (.audit-spool), durable and readable with `pdaas-audit spool show`
//   npm run demo -- --opensearch  into OpenSearch: the node AUDIT_OPENSEARCH_URL (or _HOST) names, else
//                                 the project's dev node (started here, and stopped if it started it)
import { Client } from '@opensearch-project/opensearch';
import { createAudit, isAuditError, readSpool } from '@pdaas/audit';
import { Registry } from 'prom-client';
import { DevNode } from '../scripts/opensearch/dev-node.js';
import { drive, startApp, totalSent } from './traffic.js';

const SECONDS = Number(process.env.DEMO_SECONDS ?? 3);
const ORGS = 100;
const configured =
  process.env.AUDIT_OPENSEARCH_URL !== undefined || process.env.AUDIT_OPENSEARCH_HOST !== undefined;
const toOpenSearch = process.argv.includes('--opensearch') || configured;

const node = toOpenSearch && !configured ? new DevNode() : undefined;
const startedNode = node !== undefined && node.pid() === undefined;
const url = node ? await node.start() : undefined;

const run = `demo-${Date.now().toString(36)}`;
const audit = await createAudit({
  registry: new Registry(),
  serviceName: 'demo',
  flushIntervalSeconds: 1,
  excludedPaths: ['/health', '/metrics'],
  // One node cannot hold replicas (it would stay yellow); a production cluster keeps 5 shards and 1 replica.
  indexShards: 1,
  indexReplicas: 0,
  ...(url && { opensearch: { url } }),
}).catch(async (err: unknown) => {
  // A wrong AUDIT_* value: one clear line and exit code 2, not a stack trace.
  if (!isAuditError(err, 'AUDIT_ERR_INVALID_OPTION')) throw err;
  console.error(`demo: ${err.message}`);
  if (startedNode) await node?.stop();
  process.exit(2);
});
const nodes = audit.config.opensearch.nodes;
const client = nodes.length > 0 ? new Client({ node: [...nodes] }) : undefined;

interface Stored {
  total: number;
  perOrg: Map<string, number>;
  samples: unknown[];
}

/** This run's events in OpenSearch: its request ids start with `run`. */
async function fromOpenSearch(os: Client): Promise<Stored> {
  const index = `${audit.config.indexPrefix}-demo-*`;
  await os.indices.refresh({ index });
  const res = await os.search({
    index,
    body: {
      size: 2,
      track_total_hits: true,
      query: { prefix: { request_id: `${run}-` } },
      sort: [{ occurred_at: 'desc' }],
      aggs: { orgs: { terms: { field: 'organization_id', size: ORGS * 2 } } },
    } as never,
  });
  const body = res.body as unknown as {
    hits: { total: { value: number }; hits: { _source: unknown }[] };
    aggregations: { orgs: { buckets: { key: string; doc_count: number }[] } };
  };
  return {
    total: body.hits.total.value,
    perOrg: new Map(body.aggregations.orgs.buckets.map((b) => [b.key, b.doc_count])),
    samples: body.hits.hits.map((h) => h._source),
  };
}

/** This run's events in the spool (earlier runs' events stay there too). */
async function fromSpool(dir: string): Promise<Stored> {
  const stored: Stored = { total: 0, perOrg: new Map(), samples: [] };
  for await (const segment of readSpool(dir)) {
    for (const { source } of segment.documents) {
      if (!String(source.request_id).startsWith(`${run}-`)) continue;
      stored.total++;
      const org = String(source.organization_id);
      stored.perOrg.set(org, (stored.perOrg.get(org) ?? 0) + 1);
      if (stored.samples.length < 2) stored.samples.push(source);
    }
  }
  return stored;
}

let exitCode = 1;
try {
  const app = await startApp('hono', audit);
  console.log(`\nDriving ${SECONDS} s of traffic at ${app.url} across ${ORGS} organizations...`);
  const sent = await drive(app.url, Number.MAX_SAFE_INTEGER, {
    orgs: ORGS,
    prefix: run,
    until: Date.now() + SECONDS * 1000,
  });
  // Scraped once every event has its outcome (close() unregisters the metrics, so not after it):
  // a scrape in the middle of delivery would show a queue and no bulk requests yet.
  for (const until = Date.now() + 60_000; audit.stats().inFlight > 0 && Date.now() < until; )
    await new Promise((r) => setTimeout(r, 100));
  const metrics = await (await fetch(`${app.url}/metrics`)).text();
  await app.close();
  const stats = await audit.close();
  const total = totalSent(sent);

  const stored = client ? await fromOpenSearch(client) : await fromSpool(audit.config.spoolDir);
  const where = client ? 'indexed' : 'spooled';

  console.log(`\norganization   sent  ${where.padStart(7)}`);
  const orgs = [...sent.keys()].sort();
  let mismatched = 0;
  for (const [i, org] of orgs.entries()) {
    const ok = stored.perOrg.get(org) === sent.get(org);
    if (!ok) mismatched++;
    if (i < 5 || !ok)
      console.log(
        `${org.padEnd(12)} ${String(sent.get(org)).padStart(6)} ${String(stored.perOrg.get(org) ?? 0).padStart(8)}${ok ? '' : '  MISMATCH'}`,
      );
  }
  console.log(`... ${orgs.length} organizations, ${mismatched} mismatched`);

  console.log('\nTwo sample events:');
  for (const sample of stored.samples) console.log(JSON.stringify(sample, null, 2));

  console.log('\nMetrics excerpt (GET /metrics, once every event had its outcome):');
  const wanted =
    /^(audit_events_total|audit_events_latency_seconds_(sum|count)|audit_queue_size|circuit_breaker_state|audit_opensearch_write_latency_seconds_(sum|count)|audit_bulk_requests_total|audit_events_spooled_total)/;
  for (const line of metrics.split('\n')) if (wanted.test(line)) console.log(`  ${line}`);
  console.log(`\naccounting: ${JSON.stringify(stats)}`);

  const kept = client ? stats.indexed : stats.spooled;
  console.log(`\n${where} ${stored.total} of ${total} events`);
  if (!client) console.log(`they wait in ${audit.config.spoolDir}: npm run cli -- spool show`);
  exitCode = stored.total === total && mismatched === 0 && kept === total ? 0 : 1;
} finally {
  await client?.close();
  if (startedNode) await node?.stop();
}
process.exit(exitCode);
