// Tenant isolation rests on organization_id being a keyword: the reader filters with a term query,
// exact only on a keyword. A writer that cannot install the template (the least-privilege writer
// role may not) must still never create an audit index without the audit mapping, and a reader that
// meets an index where the field is not a keyword must refuse rather than mix tenants.
import { createAudit, createReader, isAuditError } from '@pdaas/audit';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { event } from '../support/captured-event.js';
import { tempDir, waitFor } from '../support/faults.js';
import { internals } from '../support/internals.js';
import { testClient, testUrl, uniquePrefix } from '../support/opensearch.js';

const silent = { info() {}, warn() {}, error() {} };
const today = () => new Date().toISOString().slice(0, 10);

describe('the tenant field is always a keyword', () => {
  it('a writer without a template creates its index with the audit mapping', async () => {
    const prefix = uniquePrefix('nomap');
    const url = new URL(testUrl());
    const audit = await createAudit({
      registry: new Registry(),
      logger: silent,
      indexPrefix: prefix,
      installTemplate: false,
      indexShards: 1,
      indexReplicas: 0,
      flushIntervalSeconds: 0.1,
      spoolDir: tempDir(prefix),
      opensearch: { host: url.hostname, port: Number(url.port) },
    });
    for (let i = 0; i < 5; i++)
      internals(audit).capture(
        event({ ts: Date.now(), seq: i, requestId: `r-${i}`, organizationId: 'acme-labs' }),
      );
    await waitFor('the events indexed', () => audit.stats().indexed === 5, 30_000);
    await audit.close();
    const index = `${prefix}-api-${today()}`;
    const mapping = (await testClient().indices.getMapping({ index })).body as Record<
      string,
      { mappings: { properties: Record<string, { type: string }> } }
    >;
    expect(mapping[index]?.mappings.properties.organization_id?.type).toBe('keyword');
    expect(mapping[index]?.mappings.properties.occurred_at?.type).toBe('date');
  });

  it('a reader refuses an index where organization_id is not a keyword, instead of mixing tenants', async () => {
    const prefix = uniquePrefix('textorg');
    const index = `${prefix}-api-${today()}`;
    const client = testClient();
    // Dynamic mapping, as a writer that wrote without the template would have left it: text.
    for (const org of ['acme', 'acme-labs'])
      await client.index({
        index,
        body: { organization_id: org, occurred_at: new Date().toISOString(), event_id: org },
        refresh: true,
      } as never);
    const reader = createReader({ organizationId: 'acme', indexPrefix: prefix, client });
    // On a text field the term 'acme' also matches 'acme-labs': the count would be 2.
    const counted = await reader.count().then(
      (n) => n,
      (e: unknown) => e,
    );
    expect(isAuditError(counted, 'AUDIT_ERR_TENANT_MAPPING'), `count gave ${String(counted)}`).toBe(true);
    const err = await reader.search().then(
      (page) => page,
      (e: unknown) => e,
    );
    expect(isAuditError(err, 'AUDIT_ERR_TENANT_MAPPING'), `got ${JSON.stringify(err)}`).toBe(true);
    expect(String((err as Error).message)).toContain(index);
    await client.close();
  });
});
