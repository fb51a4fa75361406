// TLS and the least-privilege writer role against a real secure node: OpenSearch 2.19.4 with the
// security plugin, https with certificates made by openssl for this run, basic auth. The plain
// test node of the global setup is not used here.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Client } from '@opensearch-project/opensearch';
import { type Audit, createReader, type OpenSearchOptions } from '@pdaas/audit';
import { indexTemplate, syncRole, templateName, writerRole } from '@pdaas/audit/opensearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../examples/hono/app.js';
import { DevNode } from '../../scripts/opensearch/dev-node.js';
import { expectExactAccounting, faultAudit, settled, tempDir, waitFor } from '../support/faults.js';
import { eventsOf, uniquePrefix } from '../support/opensearch.js';

// Without ISM: the secure node keeps the path of a cluster that has no lifecycle plugin covered
// (setup and health say AUDIT_ERR_ISM_UNAVAILABLE), which the shared test node, with ISM, no longer is.
const node = new DevNode({
  secure: true,
  ism: false,
  name: 'tls',
  port: Number(process.env.OPENSEARCH_TLS_TEST_PORT ?? 9290),
  fresh: true,
});
let admin: Client;

/** What AUDIT_OPENSEARCH_USE_SSL=true, AUDIT_OPENSEARCH_CA_CERTS and basic auth resolve to. */
function tlsOptions(extra: OpenSearchOptions = {}): OpenSearchOptions {
  return {
    host: '127.0.0.1',
    port: node.port,
    useSsl: true,
    caCerts: node.caFile,
    username: node.adminUser,
    password: node.adminPassword,
    timeoutSeconds: 5,
    ...extra,
  };
}

function clientAs(username: string, password: string): Client {
  return new Client({ node: node.url, auth: { username, password }, ssl: { ca: readFileSync(node.caFile) } });
}

/** Sends `n` audited requests through the Hono example app. */
async function drive(audit: Audit, n: number, label: string): Promise<void> {
  const app = createApp(audit);
  for (let i = 0; i < n; i++) {
    const res = await app.request(`/accounts/${label}-${i}`, { headers: { 'x-organization-id': 'org-tls' } });
    await res.arrayBuffer();
  }
}

/** The secure node holds exactly `expected` events of this prefix, each event_id once. */
async function expectStoredOnce(prefix: string, expected: number): Promise<void> {
  const index = eventsOf(prefix);
  await admin.indices.refresh({ index, allow_no_indices: true });
  const res = await admin.search({
    index,
    allow_no_indices: true,
    body: {
      size: 0,
      track_total_hits: true,
      aggs: { ids: { terms: { field: 'event_id', min_doc_count: 2, size: 10 } } },
    } as never,
  });
  const body = res.body as unknown as {
    hits: { total: { value: number } };
    aggregations?: { ids: { buckets: unknown[] } };
  };
  expect(body.aggregations?.ids.buckets ?? [], 'an event_id appears twice').toEqual([]);
  expect(body.hits.total.value).toBe(expected);
}

/** The status code of a failed client call (403 for a security refusal). */
async function statusOf(call: Promise<unknown>): Promise<number | string> {
  try {
    await call;
    return 'succeeded';
  } catch (err) {
    return (err as { meta?: { statusCode?: number } }).meta?.statusCode ?? (err as Error).message;
  }
}

beforeAll(async () => {
  await node.start();
  admin = clientAs(node.adminUser, node.adminPassword);
}, 300_000);

afterAll(async () => {
  await admin?.close();
  await node.stop();
}, 120_000);

describe('TLS to a secure OpenSearch', () => {
  it('indexes every event over https with the CA and admin basic auth', async () => {
    const n = 200;
    const prefix = uniquePrefix('tls');
    const { audit, logs } = await faultAudit(prefix, undefined, { opensearch: tlsOptions() });
    await drive(audit, n, 'a');
    await settled(audit);
    expectExactAccounting(audit.stats());
    const final = await audit.close();
    expect(final).toMatchObject({ captured: n, indexed: n, deadLettered: 0, spooled: 0, inFlight: 0 });
    expect(logs.lines.some((l) => l.startsWith('info Index template installed'))).toBe(true);
    await expectStoredOnce(prefix, n);

    // The read side over the same TLS options.
    const reader = createReader({ organizationId: 'org-tls', indexPrefix: prefix, opensearch: tlsOptions() });
    expect(await reader.count()).toBe(n);
    await reader.close();
  });

  it('verifies the certificate by default: without the CA nothing is indexed, all is spooled, then replayed', async () => {
    const n = 60;
    const prefix = uniquePrefix('tlsv');
    const spoolDir = tempDir(prefix);
    // useSsl, no caCerts, verifyCerts left at its default.
    const { caCerts: _ca, ...noCa } = tlsOptions();
    const a = await faultAudit(prefix, undefined, { spoolDir, opensearch: noCa });
    await drive(a.audit, n, 'b');
    await waitFor('every event spooled', () => a.audit.stats().spooled === n, 60_000);
    const stats = a.audit.stats();
    expectExactAccounting(stats);
    expect(stats).toMatchObject({ captured: n, indexed: 0, deadLettered: 0, spooled: n, inFlight: 0 });
    // The failure is the handshake: Node's verifier finds no trusted issuer for the node's
    // certificate, and the log says so and what to set.
    expect(a.logs.lines.join('\n')).toContain(
      "TLS: the server's certificate is not trusted (UNABLE_TO_VERIFY_LEAF_SIGNATURE); set AUDIT_OPENSEARCH_CA_CERTS to the CA that signed it",
    );
    const closed = await a.audit.close();
    expect(closed).toMatchObject({ captured: n, indexed: 0, spooled: n });
    await expectStoredOnce(prefix, 0);

    // The same spool with the CA: every event is replayed, none twice.
    const b = await faultAudit(prefix, undefined, { spoolDir, opensearch: tlsOptions() });
    await waitFor('the spool to be replayed', () => b.audit.stats().recovered === n, 60_000);
    await settled(b.audit);
    const final = await b.audit.close();
    expect(final).toMatchObject({ captured: 0, spooled: 0, inFlight: 0, recovered: n });
    await expectStoredOnce(prefix, n);
  });

  it('a user with only the writer role indexes events but cannot read or delete them', async () => {
    const n = 50;
    const prefix = uniquePrefix('lp');
    const role = `audit_writer_${prefix}`;
    const user = `writer_${prefix}`;
    const password = `Wr1!${randomBytes(18).toString('base64url')}`;

    // As admin: the template (the writer may not install it), the role, the user and the mapping.
    await admin.indices.putIndexTemplate({
      name: templateName(prefix),
      body: indexTemplate({ prefix, shards: 1, replicas: 0 }) as never,
    });
    expect((await syncRole(admin, { prefix, name: role })).state).toBe('created');
    const stored = await admin.transport.request({
      method: 'GET',
      path: `/_plugins/_security/api/roles/${role}`,
    });
    expect(stored.body).toMatchObject({ [role]: writerRole(prefix) });
    await admin.transport.request({
      method: 'PUT',
      path: `/_plugins/_security/api/internalusers/${user}`,
      body: { password, backend_roles: [] },
    });
    await admin.transport.request({
      method: 'PUT',
      path: `/_plugins/_security/api/rolesmapping/${role}`,
      body: { users: [user] },
    });

    const writer = clientAs(user, password);
    try {
      const info = await writer.transport.request({ method: 'GET', path: '/_plugins/_security/authinfo' });
      expect((info.body as { roles: string[] }).roles).toEqual([role]);

      const { audit, logs } = await faultAudit(prefix, undefined, {
        installTemplate: false,
        opensearch: tlsOptions({ username: user, password }),
      });
      await drive(audit, n, 'c');
      // A role that cannot write would leave the events spooled and retried: fail fast instead.
      await settled(audit, 30_000);
      expectExactAccounting(audit.stats());
      const final = await audit.close();
      expect(final).toMatchObject({ captured: n, indexed: n, deadLettered: 0, spooled: 0 });
      expect(logs.lines.filter((l) => l.startsWith('warn') || l.startsWith('error'))).toEqual([]);
      await expectStoredOnce(prefix, n);
      const indices = Object.keys((await admin.indices.get({ index: eventsOf(prefix) })).body);
      expect(indices).toHaveLength(1);
      // The template the admin installed shaped the index the writer created.
      const settings = await admin.indices.getSettings({ index: indices[0] as string });
      expect(JSON.stringify(settings.body)).toContain('best_compression');

      // Refused: reading, deleting, and installing a template.
      const index = `${prefix}-*`;
      expect(await statusOf(writer.search({ index, body: { query: { match_all: {} } } }))).toBe(403);
      expect(await statusOf(writer.count({ index }))).toBe(403);
      expect(await statusOf(writer.indices.delete({ index: indices[0] as string }))).toBe(403);
      expect(
        await statusOf(
          writer.indices.putIndexTemplate({
            name: templateName(prefix),
            body: indexTemplate({ prefix }) as never,
          }),
        ),
      ).toBe(403);
      // Outside its pattern it cannot even write.
      expect(
        await statusOf(writer.index({ index: `other-${prefix}`, body: { event_id: 'x' }, refresh: true })),
      ).toBe(403);
      await expectStoredOnce(prefix, n); // the delete really did not happen
    } finally {
      await writer.close();
    }
  });
});
