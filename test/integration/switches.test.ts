// The deployment guide's switches: excluded paths produce no events, and AUDIT_ENABLED=false or
// AUDIT_EXCLUDED_PATHS=/* turn capture off entirely (and say so in the log).
import { createAudit } from '@pdaas/audit';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../examples/hono/app.js';
import { drive, startApp } from '../../examples/traffic.js';
import { collectLogs } from '../support/logs.js';
import { testClient, testUrl, uniquePrefix } from '../support/opensearch.js';

function opensearch() {
  const url = new URL(testUrl());
  return { host: url.hostname, port: Number(url.port) };
}

describe('excluded paths', () => {
  it.each(['hono', 'express'] as const)(
    '%s: the canary list leaves only authentication, policies and organizations',
    async (kind) => {
      const prefix = uniquePrefix(`ex-${kind}`);
      const audit = await createAudit({
        registry: new Registry(),
        logger: collectLogs().logger,
        indexPrefix: prefix,
        indexShards: 1,
        indexReplicas: 0,
        flushIntervalSeconds: 0.2,
        spoolDir: `/tmp/${prefix}-spool`,
        excludedPaths: [
          '/health',
          '/metrics',
          '/accounts/*',
          '/memberships/*',
          '/groups/*',
          '/service-accounts/*',
        ],
        opensearch: opensearch(),
      });
      const server = await startApp(kind, audit);
      await drive(server.url, 600, { orgs: 10, prefix });
      for (let i = 0; i < 20; i++) await (await fetch(`${server.url}/health`)).arrayBuffer();
      await server.close();
      const final = await audit.close();
      const client = testClient();
      await client.indices.refresh({ index: `${prefix}-*` });
      const paths = await client.search({
        index: `${prefix}-*`,
        body: { size: 0, aggs: { p: { terms: { field: 'action', size: 100 } } } } as never,
      });
      const actions = (paths.body.aggregations as { p: { buckets: { key: string; doc_count: number }[] } }).p
        .buckets;
      const audited = new Set(actions.map((b) => b.key.split('.')[0]));
      expect([...audited].sort()).toEqual(['authentication', 'organizations', 'policies']);
      const total = actions.reduce((n, b) => n + b.doc_count, 0);
      expect(final.captured).toBe(total);
      expect(final.indexed).toBe(total);
      // 600 requests over six resources plus logins: the excluded four resources are 2/3 of the rest.
      expect(total).toBeGreaterThan(150);
      expect(total).toBeLessThan(400);
    },
  );
});

describe('rollback switches', () => {
  it.each([
    ['AUDIT_ENABLED=false', { enabled: false }],
    ['AUDIT_EXCLUDED_PATHS=/*', { excludedPaths: ['/*'] }],
  ])('%s captures nothing, starts no worker and logs "Audit system disabled"', async (_name, switchOff) => {
    const { lines, logger } = collectLogs();
    const registry = new Registry();
    const audit = await createAudit({ registry, logger, ...switchOff, opensearch: opensearch() });
    expect(audit.active).toBe(false);
    const app = createApp(audit);
    const res = await app.request('/policies/p1', { headers: { 'x-organization-id': 'org-1' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id: 'p1', resource: 'policies' });
    expect(lines.some((l) => l.startsWith('info Audit system disabled'))).toBe(true);
    expect(lines.some((l) => l.startsWith('info Audit system initialized'))).toBe(false);
    expect(await registry.metrics()).toContain('audit_workers_alive 0');
    expect(await audit.close()).toMatchObject({ captured: 0, indexed: 0, inFlight: 0 });
  });

  it('the same switches work from the environment', async () => {
    const { lines, logger } = collectLogs();
    process.env.AUDIT_ENABLED = 'false';
    try {
      const audit = await createAudit({ registry: new Registry(), logger });
      expect(audit.active).toBe(false);
      await audit.close();
    } finally {
      delete process.env.AUDIT_ENABLED;
    }
    expect(lines.some((l) => l.startsWith('info Audit system disabled'))).toBe(true);
  });
});
