// The first contact with a real OpenSearch node: the index template, a gzip-compressed NDJSON bulk
// request through @opensearch-project/opensearch, reading documents back, and the lifecycle policy.
import { describe, expect, it } from 'vitest';
import { type BulkDoc, gzipBody, ndjson, postBulk } from '../../src/opensearch/bulk.js';
import { lifecyclePolicy, policyDifferences, policyPath } from '../../src/opensearch/lifecycle.js';
import { syncPolicy } from '../../src/opensearch/setup.js';
import { indexTemplate, templateName } from '../../src/opensearch/template.js';
import { testClient, testUrl, uniquePrefix } from '../support/opensearch.js';

const client = testClient();

function event(i: number, org: string): Record<string, unknown> {
  return {
    occurred_at: new Date(Date.UTC(2026, 10, 27, 12, 0, i)).toISOString(),
    event_id: `0190c3e0-0000-7000-8000-${String(i).padStart(12, '0')}`,
    actor_id: `user-${i}`,
    actor_type: 'user',
    organization_id: org,
    action: 'policies.create',
    target: `policy:${i}`,
    service: 'api',
    request_method: 'POST',
    request_path: '/policies',
    response_status_code: 201,
    response_duration_ms: 1.5 + i,
    client_ip: '127.0.0.1',
    // A disabled object field must take both shapes a body can have.
    request_body: i % 2 === 0 ? { name: `p${i}`, nested: { depth: [1, 2, 3] } } : `plain text body ${i}`,
    outcome: 'success',
  };
}

describe('a real OpenSearch node', () => {
  it('is a 2.19 node with the job-scheduler plugin', async () => {
    const info = await client.info();
    expect(info.body.version.number).toMatch(/^2\.19\./);
    const plugins = await fetch(`${testUrl()}/_cat/plugins?h=component`).then((r) => r.text());
    expect(plugins.split('\n')).toContain('opensearch-job-scheduler');
  });

  it('applies the index template to a new daily index', async () => {
    const prefix = uniquePrefix('tpl');
    await client.indices.putIndexTemplate({
      name: templateName(prefix),
      body: indexTemplate({ prefix, shards: 1, replicas: 0 }) as never,
    });
    const index = `${prefix}-api-2026-11-27`;
    await client.indices.create({ index });
    const mapping = await client.indices.getMapping({ index });
    const props = mapping.body[index]?.mappings.properties as Record<string, { type?: string }>;
    expect(props.organization_id?.type).toBe('keyword');
    expect(props.response_status_code?.type).toBe('short');
    expect(props.occurred_at?.type).toBe('date');
    const settings = await client.indices.getSettings({ index });
    expect(settings.body[index]?.settings?.index?.codec).toBe('best_compression');
  });

  it('indexes a gzip NDJSON bulk body with create, routing and deterministic ids, and reads it back', async () => {
    const prefix = uniquePrefix('bulk');
    await client.indices.putIndexTemplate({
      name: templateName(prefix),
      body: indexTemplate({ prefix, shards: 2, replicas: 0 }) as never,
    });
    const index = `${prefix}-api-2026-11-27`;
    const docs: BulkDoc[] = Array.from({ length: 20 }, (_, i) => {
      const org = `org-${i % 3}`;
      const source = event(i, org);
      return { index, id: String(source.event_id), routing: org, source };
    });
    const body = ndjson(docs);
    const gz = gzipBody(body);
    expect(gz.length).toBeLessThan(Buffer.byteLength(body));

    const first = await postBulk(client, gz, { refresh: true });
    expect(first.errors).toBe(false);
    expect(first.items.map((i) => i.status)).toEqual(docs.map(() => 201));

    // The same body again: every item is a 409 and nothing is duplicated.
    const again = await postBulk(client, gz, { refresh: true });
    expect(again.errors).toBe(true);
    expect(new Set(again.items.map((i) => i.status))).toEqual(new Set([409]));
    const count = await client.count({ index });
    expect(count.body.count).toBe(20);

    const found = await client.search({
      index,
      routing: 'org-1',
      body: { query: { term: { organization_id: 'org-1' } }, sort: [{ occurred_at: 'asc' }], size: 50 },
    });
    const hits = found.body.hits.hits;
    expect(hits.map((h) => h._id)).toEqual(docs.filter((d) => d.routing === 'org-1').map((d) => d.id));
    const firstHit = hits[0]?._source as Record<string, unknown>;
    expect(firstHit).toEqual(docs.find((d) => d.id === hits[0]?._id)?.source);
    expect(hits.every((h) => h._routing === 'org-1')).toBe(true);
  });

  it('rejects a document whose field breaks the mapping, item by item', async () => {
    const prefix = uniquePrefix('bad');
    await client.indices.putIndexTemplate({
      name: templateName(prefix),
      body: indexTemplate({ prefix, shards: 1, replicas: 0 }) as never,
    });
    const index = `${prefix}-api-2026-11-27`;
    const good = event(1, 'org-a');
    const bad = { ...event(2, 'org-a'), response_status_code: 'not-a-number' };
    const answer = await postBulk(
      client,
      gzipBody(
        ndjson([
          { index, id: 'good', source: good },
          { index, id: 'bad', source: bad },
        ]),
      ),
    );
    expect(answer.errors).toBe(true);
    expect(answer.items[0]?.status).toBe(201);
    expect(answer.items[1]?.status).toBe(400);
    expect(answer.items[1]?.error?.type).toBe('mapper_parsing_exception');
  });

  it('installs the lifecycle policy idempotently, or says exactly that ISM is missing', async () => {
    const prefix = uniquePrefix('ism');
    const plugins = await fetch(`${testUrl()}/_cat/plugins?h=component`).then((r) => r.text());
    if (plugins.includes('opensearch-index-management')) {
      expect((await syncPolicy(client, { prefix })).state).toBe('created');
      const read = await client.transport.request({ method: 'GET', path: policyPath(prefix) });
      const policy = (read.body as { policy: ReturnType<typeof lifecyclePolicy>['policy'] }).policy;
      expect(policy.default_state).toBe('hot');
      // ISM adds fields of its own (a retry block per action, times, schema version): what we set
      // must be there unchanged.
      expect(policyDifferences(lifecyclePolicy({ prefix }), policy)).toEqual([]);
      expect(policy.states.map((s) => s.name)).toEqual(['hot', 'warm', 'cold', 'delete']);
      expect((await syncPolicy(client, { prefix })).state).toBe('unchanged');
      // A change updates in place (sequence numbers), it does not fail with a conflict.
      const updated = await syncPolicy(client, { prefix, deleteAfterDays: 120 });
      expect(updated.state).toBe('updated');
      expect(updated.changes?.length).toBeGreaterThan(0);
    } else {
      // A node without ISM: the installer must say so with its coded reason rather than pretend
      // retention is configured.
      expect(await syncPolicy(client, { prefix })).toMatchObject({
        state: 'skipped',
        code: 'AUDIT_ERR_ISM_UNAVAILABLE',
      });
    }
  });
});
