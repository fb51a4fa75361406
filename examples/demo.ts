// The demo: starts the project's OpenSearch dev node, installs the index template, indexes a
// handful of audit events with one gzip bulk request and prints them back.
// (The pipeline issue turns this into requests through the middleware.)
import { Client } from '@opensearch-project/opensearch';
import { DevNode } from '../scripts/opensearch/dev-node.js';
import { gzipBody, indexTemplate, ndjson, postBulk, templateName } from '../src/index.js';

const node = new DevNode();
const url = await node.start();
const client = new Client({ node: url });
const prefix = 'audit';
await client.indices.putIndexTemplate({
  name: templateName(prefix),
  body: indexTemplate({ prefix, shards: 1, replicas: 0, refreshInterval: '1s' }) as never,
});

const day = new Date().toISOString().slice(0, 10);
const index = `${prefix}-demo-${day}`;
const actions = [
  'policies.create',
  'policies.read',
  'organizations.update',
  'authentication.login',
  'policies.delete',
];
const docs = actions.map((action, i) => {
  const id = `demo-${day}-${i}`;
  return {
    index,
    id,
    routing: 'org-demo',
    source: {
      occurred_at: new Date(Date.now() - (actions.length - i) * 1000).toISOString(),
      event_id: id,
      actor_id: 'alice',
      actor_type: 'user',
      organization_id: 'org-demo',
      action,
      target: `${action.split('.')[0]}:${i + 1}`,
      service: 'demo',
      request_method: ['POST', 'GET', 'PATCH', 'POST', 'DELETE'][i],
      response_status_code: 200,
      response_duration_ms: 1 + i / 10,
      outcome: 'success',
    },
  };
});
const answer = await postBulk(client, gzipBody(ndjson(docs)), { refresh: true });
const created = answer.items.filter((i) => i.status === 201).length;
const already = answer.items.filter((i) => i.status === 409).length;
console.log(`bulk: ${created} created, ${already} already there (ids are deterministic)`);

const found = await client.search({
  index: `${prefix}-demo-*`,
  body: { query: { term: { organization_id: 'org-demo' } }, sort: [{ occurred_at: 'desc' }], size: 10 },
});
for (const hit of found.body.hits.hits) {
  const e = hit._source as Record<string, string | number>;
  console.log(
    `${e.occurred_at}  ${e.actor_id}  ${String(e.action).padEnd(22)} ${e.target}  ${e.response_status_code}`,
  );
}
console.log(`\nOpenSearch keeps running at ${url}; stop it with: npm run opensearch -- stop`);
