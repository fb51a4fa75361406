// Pointing at a cluster with the URL the dev node prints (AUDIT_OPENSEARCH_URL, `--url`), and a
// template another service installed with other shard and replica counts: kept, and said once.
import { createAudit } from '@pdaas/audit';
import { indexTemplate } from '@pdaas/audit/opensearch';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { drive, startApp } from '../../examples/traffic.js';
import { pdaas } from '../support/cli.js';
import { collectLogs } from '../support/logs.js';
import { eventsOf, testClient, testUrl, uniquePrefix } from '../support/opensearch.js';

// An address the guide's variables could hold that leads nowhere: if it were used, nothing would work.
const NOWHERE = { AUDIT_OPENSEARCH_HOST: 'nowhere.invalid', AUDIT_OPENSEARCH_PORT: '1' };

const saved = { ...process.env };
afterEach(() => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
});

async function templateSettings(prefix: string) {
  const res = await testClient().transport.request({
    method: 'GET',
    path: `/_index_template/${prefix}-template`,
  });
  const [entry] = (res.body as { index_templates: { index_template: { template: { settings: object } } }[] })
    .index_templates;
  const settings = entry?.index_template.template.settings as { index?: Record<string, string> } | undefined;
  const index = settings?.index;
  return { shards: index?.number_of_shards, replicas: index?.number_of_replicas };
}

describe('AUDIT_OPENSEARCH_URL and --url', () => {
  it('the library indexes every event into the node AUDIT_OPENSEARCH_URL names; the CLI reads them with --url', async () => {
    const prefix = uniquePrefix('url');
    for (const key of Object.keys(process.env))
      if (key.startsWith('AUDIT_OPENSEARCH_')) delete process.env[key];
    process.env.AUDIT_OPENSEARCH_URL = testUrl();
    const logs = collectLogs();
    const audit = await createAudit({
      registry: new Registry(),
      logger: logs.logger,
      indexPrefix: prefix,
      indexShards: 1,
      indexReplicas: 0,
      flushIntervalSeconds: 0.2,
      excludedPaths: ['/health', '/metrics'],
      spoolDir: `/tmp/${prefix}-spool`,
    });
    expect(audit.config.opensearch.nodes).toEqual([testUrl()]);
    delete process.env.AUDIT_OPENSEARCH_URL; // read once, at start; the CLI below must not see it
    const server = await startApp('hono', audit);
    await drive(server.url, 200, { orgs: 4, prefix });
    await server.close();
    const final = await audit.close();
    expect(final.captured).toBeGreaterThan(0);
    expect(final.indexed).toBe(final.captured);
    expect(final.spooled).toBe(0);

    const client = testClient();
    await client.indices.refresh({ index: `${prefix}-*` });
    const stored = (await client.count({ index: eventsOf(prefix) })).body.count;
    expect(stored).toBe(final.indexed);

    // The CLI, with the guide's variables pointing nowhere: --url replaces them.
    const org = 'org-001';
    const expected = (
      await client.count({
        index: eventsOf(prefix),
        body: { query: { term: { organization_id: org } } } as never,
      })
    ).body.count;
    expect(expected).toBeGreaterThan(0);
    const counted = await pdaas(['count', '--org', org, '--url', testUrl()], {
      ...NOWHERE,
      AUDIT_INDEX_PREFIX: prefix,
    });
    expect(counted.code, counted.stderr).toBe(0);
    expect(Number(counted.stdout.trim())).toBe(expected);
    // Without --url the same command goes to the guide's variables, and fails.
    const without = await pdaas(['count', '--org', 'org-000'], { ...NOWHERE, AUDIT_INDEX_PREFIX: prefix });
    expect(without.code).toBe(1);
  });

  it('pdaas-audit refuses AUDIT_OPENSEARCH_URL set together with AUDIT_OPENSEARCH_HOST, naming both', async () => {
    const r = await pdaas(['health'], {
      AUDIT_OPENSEARCH_URL: testUrl(),
      AUDIT_OPENSEARCH_HOST: '127.0.0.1',
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'AUDIT_OPENSEARCH_URL is set together with AUDIT_OPENSEARCH_HOST: give the OpenSearch address one way, as URLs or as host and port, and unset the other',
    );
  });
});

describe('an installed template with other shard and replica counts', () => {
  it('is kept and named in exactly one warning; pdaas-audit setup still updates it', async () => {
    const prefix = uniquePrefix('tpl');
    const client = testClient();
    // Another service sharing the prefix installed it with 2 shards and 0 replicas.
    await client.transport.request({
      method: 'PUT',
      path: `/_index_template/${prefix}-template`,
      body: indexTemplate({ prefix, shards: 2, replicas: 0 }),
    });

    // The worker's warning reaches the app's logger (not stderr), once.
    const logs = collectLogs();
    const audit = await createAudit({
      registry: new Registry(),
      logger: logs.logger,
      indexPrefix: prefix,
      indexShards: 1,
      indexReplicas: 0,
      workers: 1,
      flushIntervalSeconds: 0.2,
      batchSize: 20,
      spoolDir: `/tmp/${prefix}-spool`,
      opensearch: { url: testUrl() },
    });
    const server = await startApp('hono', audit);
    await drive(server.url, 150, { orgs: 3, prefix });
    await server.close();
    const final = await audit.close();
    expect(final.indexed).toBe(final.captured);
    const warnings = logs.lines.filter(
      (l) => l.startsWith('warn ') && l.includes('AUDIT_WARN_TEMPLATE_DIFFERS'),
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(
      `Index template ${prefix}-template differs from this service's settings: number_of_shards 2 installed, 1 configured (AUDIT_INDEX_SHARDS). It is left as installed (another service may share it) and new ${prefix}-* indices get its values: run \`pdaas-audit setup\` to install this service's values, or set AUDIT_INDEX_SHARDS=2 to match it.`,
    );

    // Not rewritten: the template and the index it made keep the other service's values.
    expect(await templateSettings(prefix)).toEqual({ shards: '2', replicas: '0' });
    const index = `${prefix}-api-${new Date().toISOString().slice(0, 10)}`;
    const settings = (await client.indices.getSettings({ index })).body[index]?.settings as {
      index: { number_of_shards: string };
    };
    expect(settings.index.number_of_shards).toBe('2');

    // The explicit installer still replaces it with this service's values.
    const tpl = await pdaas(['template', 'install', '--url', testUrl(), '--shards', '1', '--replicas', '0'], {
      ...NOWHERE,
      AUDIT_INDEX_PREFIX: prefix,
    });
    expect(tpl.code, tpl.stderr).toBe(0);
    expect(tpl.stdout).toContain('updated');
    expect(await templateSettings(prefix)).toEqual({ shards: '1', replicas: '0' });
  });
});
