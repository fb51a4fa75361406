// A request no organization is known for (a failed login, a probe, a gateway that sent no tenant
// header) is the event an audit trail exists for: it is stored under organization_id `_none` and
// found with `--org _none` (issue #13), never lost to every tenant-scoped search.
import { describe, expect, it } from 'vitest';
import { createApp } from '../../examples/hono/app.js';
import { nodeEnv, pdaas } from '../support/cli.js';
import { faultAudit, settled } from '../support/faults.js';
import { testClient, testUrl, uniquePrefix } from '../support/opensearch.js';

describe('events without an organization', () => {
  it('are stored as _none, counted and searched with --org _none, which says it crosses tenants', async () => {
    const prefix = uniquePrefix('tenantless');
    const { audit } = await faultAudit(prefix, testUrl());
    const app = createApp(audit);
    // Two without a tenant, one with.
    await (await app.request('/policies/p-1', { headers: { 'x-actor-id': 'u-1' } })).arrayBuffer();
    await (await app.request('/policies/p-2')).arrayBuffer();
    await (await app.request('/policies/p-3', { headers: { 'x-organization-id': 'org-a' } })).arrayBuffer();
    await settled(audit);
    await audit.close();
    await testClient().indices.refresh({ index: `${prefix}-*` });

    const env = nodeEnv(prefix);
    const count = await pdaas(['count', '--org', '_none'], env);
    expect(count.stdout.trim()).toBe('2');
    expect(count.stderr).toContain('_none holds the events of requests no organization was known for');
    const search = await pdaas(['search', '--org', '_none', '--json'], env);
    expect(search.code).toBe(0);
    const { events } = JSON.parse(search.stdout) as { events: Array<Record<string, string>> };
    expect(events.map((e) => e.target).sort()).toEqual(['policy:p-1', 'policy:p-2']);
    expect(events.every((e) => e.organization_id === '_none')).toBe(true);
    expect((await pdaas(['count', '--org', 'org-a'], env)).stdout.trim()).toBe('1');

    const empty = await pdaas(['count', '--org', ''], env);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain(
      '--org is empty: name an organization, or _none for the events stored without one',
    );
  });
});
