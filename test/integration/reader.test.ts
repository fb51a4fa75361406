// Tenant isolation of the read side: 100 organizations' events go through the real pipeline into
// the real node, then readers bound to one organization try every way we could think of to see
// another organization's events, and never do.
import { Client } from '@opensearch-project/opensearch';
import { type AuditReader, createReader, isAuditError } from '@pdaas/audit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../examples/hono/app.js';
import { faultAudit, settled } from '../support/faults.js';
import { testUrl, uniquePrefix } from '../support/opensearch.js';

const ORGS = 100;
const PER_ORG = 12;
const prefix = uniquePrefix('rd');
const org = (i: number) => `org-${String(i).padStart(3, '0')}`;
const sent = new Map<string, number>();

/** Every request any reader sends, as the client saw it. */
const requests: { path: string; querystring: Record<string, unknown>; body: string }[] = [];
let client: Client;

function reader(organizationId: string): AuditReader {
  const url = new URL(testUrl());
  return createReader({
    organizationId,
    indexPrefix: prefix,
    client,
    opensearch: { host: url.hostname, port: Number(url.port) },
  });
}

async function all(r: AuditReader, filter = {}, size = 37): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  let after: string | undefined;
  do {
    const page = await r.search(filter, { size, ...(after !== undefined && { after }) });
    out.push(...page.events);
    after = page.next;
  } while (after !== undefined);
  return out;
}

beforeAll(async () => {
  const { audit } = await faultAudit(prefix, testUrl(), { indexShards: 3, workers: 2 });
  const app = createApp(audit);
  for (let n = 0; n < ORGS * PER_ORG; n++) {
    const o = org(n % ORGS);
    const res = await app.request(n % 3 === 0 ? '/policies' : `/policies/p-${n}`, {
      method: n % 3 === 0 ? 'POST' : 'GET',
      headers: { 'x-organization-id': o, 'x-actor-id': `actor-${n % 7}`, 'content-type': 'application/json' },
      ...(n % 3 === 0 && { body: JSON.stringify({ name: `p-${n}` }) }),
    });
    await res.arrayBuffer();
    sent.set(o, (sent.get(o) ?? 0) + 1);
  }
  await settled(audit);
  await audit.close();
  client = new Client({ node: testUrl() });
  await client.indices.refresh({ index: `${prefix}-*` });
  client.on('request', (_err, meta) => {
    const params = meta.meta.request.params as { path: string; querystring?: unknown; body?: unknown };
    requests.push({
      path: params.path,
      querystring: Object.fromEntries(new URLSearchParams(String(params.querystring ?? ''))),
      body: String(params.body ?? ''),
    });
  });
}, 180_000);

afterAll(async () => {
  await client?.close();
});

describe('a reader bound to one organization', () => {
  it('counts exactly its own events, for each of the 100 organizations', async () => {
    for (let i = 0; i < ORGS; i++) expect(await reader(org(i)).count()).toBe(sent.get(org(i)));
  });

  it('pages through all of its events with search_after and sees no other organization', async () => {
    for (const i of [0, 1, 42, 99]) {
      const events = await all(reader(org(i)));
      expect(events).toHaveLength(sent.get(org(i)) as number);
      expect(new Set(events.map((e) => e.organization_id))).toEqual(new Set([org(i)]));
      expect(new Set(events.map((e) => e.event_id)).size).toBe(events.length);
    }
  });

  it('filters narrow within the organization and never widen it', async () => {
    const r = reader(org(7));
    const attempts = [
      { actorId: '*' },
      { action: 'policies.*' },
      { target: '* OR organization_id:org-001' },
      { actorId: 'actor-1" } }, { "match_all": {} } ] } }' },
      { target: `policy:p-${1}` }, // another organization's target
      { action: 'policies.read', outcome: 'success' as const, status: [100, 599] as const },
      { from: 0, to: Date.now() + 86_400_000 },
    ];
    for (const filter of attempts) {
      const events = await all(r, filter);
      expect(
        events.every((e) => e.organization_id === org(7)),
        JSON.stringify(filter),
      ).toBe(true);
    }
    const reads = await r.count({ action: 'policies.read' });
    expect(reads).toBeGreaterThan(0);
    expect(reads).toBeLessThan(sent.get(org(7)) as number);
  });

  it('refuses filters it does not know and ill-typed values', async () => {
    const r = reader(org(3));
    const bad = [
      { organizationId: org(4) },
      { organization_id: org(4) },
      { query: { match_all: {} } },
      { status: '200 OR 1=1' },
      { status: 99 },
      { actorId: '' },
      { actorId: { $ne: 'x' } },
      { from: 'not a date' },
      { outcome: 'maybe' },
    ];
    for (const filter of bad) {
      const err = await r.search(filter as never).catch((e: unknown) => e);
      expect(isAuditError(err, 'AUDIT_ERR_INVALID_OPTION'), JSON.stringify(filter)).toBe(true);
    }
    expect(
      isAuditError(
        await r.search({}, { size: 100_000 }).catch((e: unknown) => e),
        'AUDIT_ERR_INVALID_OPTION',
      ),
    ).toBe(true);
  });

  it("a cursor from another organization's reader only positions the page; a forged one is refused", async () => {
    const a = await reader(org(10)).search({}, { size: 5 });
    expect(a.next).toBeDefined();
    const b = await all(reader(org(11)), {}, 5);
    const crossed = await reader(org(11)).search({}, { size: 50, after: a.next as string });
    expect(crossed.events.every((e) => e.organization_id === org(11))).toBe(true);
    expect(b.length).toBe(sent.get(org(11)));
    for (const forged of [
      '',
      'nope',
      Buffer.from('{"match_all":{}}').toString('base64url'),
      Buffer.from('[1,2,3]').toString('base64url'),
    ]) {
      const err = await reader(org(11))
        .search({}, { after: forged })
        .catch((e: unknown) => e);
      expect(isAuditError(err, 'AUDIT_ERR_INVALID_OPTION'), forged).toBe(true);
    }
  });

  it('organization ids that look like patterns match nothing but themselves', async () => {
    for (const id of ['*', 'org-*', 'org-00?', `${org(1)},${org(2)}`, `${org(1)} OR ${org(2)}`, 'ORG-001']) {
      expect(await reader(id).count(), id).toBe(0);
      expect((await reader(id).search()).events).toEqual([]);
    }
    expect(() => reader('')).toThrow(/organizationId/);
  });

  it('every request it sent was routed to the organization and filtered by it', async () => {
    // Besides searches and counts, a reader reads one thing: the mapping of organization_id (no
    // documents), to refuse indices where the tenant filter would not be exact.
    const mappingChecks = requests.filter((r) => r.path.endsWith('/_mapping/field/organization_id'));
    expect(mappingChecks.length).toBeGreaterThan(0);
    const reads = requests.filter((r) => !mappingChecks.includes(r));
    expect(reads.length).toBeGreaterThan(100);
    for (const req of reads) {
      expect(req.path).toMatch(/\/_(search|count)$/);
      const body = JSON.parse(req.body) as {
        query: { bool: { filter: { term?: { organization_id?: string } }[] } };
      };
      const orgTerm = body.query.bool.filter[0]?.term?.organization_id;
      expect(orgTerm).toBeDefined();
      expect(req.querystring.routing).toBe(orgTerm);
    }
  });

  it('tail follows new events of its organization only', async () => {
    const r = reader(org(5));
    const controller = new AbortController();
    const seen: Record<string, unknown>[] = [];
    const done = (async () => {
      for await (const e of r.tail({}, { since: 0, pollMs: 200, signal: controller.signal })) {
        seen.push(e);
        if (seen.length >= (sent.get(org(5)) as number)) controller.abort();
      }
    })();
    await done;
    expect(seen).toHaveLength(sent.get(org(5)) as number);
    expect(seen.every((e) => e.organization_id === org(5))).toBe(true);
  });
});
