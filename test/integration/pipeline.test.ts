// The whole pipeline against the real node: 20,000 requests through each adapter, across 100
// organizations, over real sockets; every event must arrive exactly once with every field right.
import { createAudit } from '@pdaas/audit';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { drive, plan, startApp } from '../../examples/traffic.js';
import { storedEvents } from '../../scripts/opensearch/stored.js';
import { expectChainsIntact } from '../support/faults.js';
import { collectLogs } from '../support/logs.js';
import { testClient, testUrl, uniquePrefix } from '../support/opensearch.js';

const client = testClient();
const REQUESTS = 20_000;
const ORGS = 100;

describe.each(['hono', 'express'] as const)('%s adapter into OpenSearch', (kind) => {
  it(`indexes ${REQUESTS} requests across ${ORGS} organizations exactly once`, async () => {
    const prefix = uniquePrefix(kind);
    const url = new URL(testUrl());
    const { lines, logger } = collectLogs();
    const registry = new Registry();
    const audit = await createAudit({
      registry,
      logger,
      serviceName: kind,
      indexPrefix: prefix,
      indexShards: 1,
      indexReplicas: 0,
      workers: 2,
      flushIntervalSeconds: 0.5,
      spoolDir: `/tmp/${prefix}-spool`,
      opensearch: { host: url.hostname, port: Number(url.port) },
    });
    const server = await startApp(kind, audit);
    const perOrg = await drive(server.url, REQUESTS, { orgs: ORGS, concurrency: 32, prefix });
    await server.close();
    const metrics = await registry.metrics();
    expect(metrics).toContain(`audit_events_total ${REQUESTS}`);
    const final = await audit.close({ timeoutSeconds: 60 });

    expect(final).toEqual({
      captured: REQUESTS,
      indexed: REQUESTS,
      deadLettered: 0,
      dropped: expect.objectContaining({ total: 0 }),
      spooled: 0,
      inFlight: 0,
      recovered: 0,
      captureErrors: 0,
    });
    expect(lines.some((l) => l.startsWith('info Audit system initialized'))).toBe(true);

    const index = `${prefix}-*`;
    const stored = await storedEvents(client, index);
    expect(stored.total).toBe(REQUESTS);
    expect(stored.duplicateRequests).toEqual([]);
    expect(stored.perOrg).toEqual(perOrg);
    // 100 organizations' hash chains, written by two workers: no false alarm.
    await expectChainsIntact(prefix, [...perOrg.keys()], client);

    // Every field of one request of each kind, as the plan says it must be.
    for (let n = 0; n < 6; n++) {
      const p = plan(n + 600, ORGS);
      const hit = await client.search({
        index,
        routing: p.org,
        body: { query: { term: { request_id: `${prefix}-${p.n}` } } },
      });
      const doc = hit.body.hits.hits[0]?._source as Record<string, unknown>;
      expect(doc).toMatchObject({
        event_id: expect.stringMatching(
          /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
        ),
        actor_id: `user-${p.n % 7}`,
        actor_type: 'user',
        organization_id: p.org,
        action: p.action,
        service: kind,
        environment: 'development',
        request_method: p.method,
        request_path: p.path,
        request_query: { n: String(p.n) },
        response_status_code: p.status,
        client_ip: '127.0.0.1',
        request_id: `${prefix}-${p.n}`,
        trace_id: `${prefix}-${p.n}`,
        outcome: 'success',
      });
      if (p.target) expect(doc.target).toBe(p.target);
      expect(typeof doc.response_duration_ms).toBe('number');
      expect(Date.parse(doc.occurred_at as string)).toBeGreaterThan(Date.now() - 600_000);
      expect(doc.host).toBeTruthy();
      if (p.body) {
        const sent = JSON.parse(p.body) as Record<string, string>;
        expect(doc.request_body).toEqual(sent.password ? { ...sent, password: '[REDACTED]' } : sent);
      }
    }
    expect(metrics).toMatch(/audit_opensearch_write_latency_seconds_count [1-9]/);
  });
});
