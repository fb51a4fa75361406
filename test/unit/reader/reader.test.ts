// The reader's tail() against a stand-in client: it keeps following through passing trouble (a
// shard still starting while the day's index is created answers 503) and stops on real errors.
import type { Client } from '@opensearch-project/opensearch';
import { describe, expect, it } from 'vitest';
import { createReader } from '../../../src/reader/reader.js';

function failure(name: string, statusCode?: number): Error {
  return Object.assign(new Error(name), { name, meta: statusCode === undefined ? {} : { statusCode } });
}

/** `_mapping/field/organization_id` as OpenSearch answers it for one index with that type. */
function fieldMapping(type: string) {
  return {
    'audit-api-2026-11-28': {
      mappings: { organization_id: { full_name: 'organization_id', mapping: { organization_id: { type } } } },
    },
  };
}

function stubClient(
  answers: Array<Error | Array<Record<string, unknown>>>,
  tenantType = 'keyword',
  checks = { n: 0 },
): Client {
  let i = 0;
  return {
    indices: {
      getFieldMapping: async () => {
        checks.n++;
        return { body: fieldMapping(tenantType) };
      },
    },
    search: async () => {
      const a = answers[Math.min(i++, answers.length - 1)];
      if (a instanceof Error) throw a;
      return { body: { hits: { hits: (a ?? []).map((s) => ({ _source: s })) } } };
    },
  } as unknown as Client;
}

const event = { event_id: 'e1', organization_id: 'org-a', occurred_at: '2026-11-28T00:00:01.000Z' };

describe('reader tail()', () => {
  it('polls again after a 503, a 429 and a dropped connection, then yields the event', async () => {
    const client = stubClient([
      failure('ResponseError', 503),
      failure('ResponseError', 429),
      failure('ConnectionError'),
      [event],
    ]);
    const reader = createReader({ organizationId: 'org-a', client });
    const stop = new AbortController();
    const got: unknown[] = [];
    for await (const e of reader.tail({}, { since: 0, pollMs: 1, signal: stop.signal })) {
      got.push(e);
      stop.abort();
    }
    expect(got).toEqual([event]);
  });

  it('throws what is not transient (a 400 for a bad query, a 403)', async () => {
    for (const status of [400, 403]) {
      const reader = createReader({
        organizationId: 'org-a',
        client: stubClient([failure('ResponseError', status)]),
      });
      const run = async () => {
        for await (const _ of reader.tail({}, { since: 0, pollMs: 1 })) break;
      };
      await expect(run()).rejects.toThrow('ResponseError');
    }
  });
});

describe('reader tenant field check', () => {
  it('refuses to search or count where organization_id is not a keyword, naming the index', async () => {
    const reader = createReader({ organizationId: 'acme', client: stubClient([[event]], 'text') });
    await expect(reader.count()).rejects.toMatchObject({
      code: 'AUDIT_ERR_TENANT_MAPPING',
      message: expect.stringContaining('audit-api-2026-11-28'),
    });
    await expect(reader.search()).rejects.toMatchObject({ code: 'AUDIT_ERR_TENANT_MAPPING' });
  });

  it('checks the mapping once a minute, not on every request', async () => {
    const checks = { n: 0 };
    const reader = createReader({
      organizationId: 'org-a',
      client: stubClient([[event]], 'keyword', checks),
    });
    await reader.search();
    await reader.search();
    expect(checks.n).toBe(1);
  });
});

/**
 * A client over an in-memory index that answers tail()'s searches as OpenSearch would: the
 * occurred_at range of the query, ascending (occurred_at, event_id), `size` and `search_after`.
 */
function indexClient(docs: Array<Record<string, unknown>>): Client {
  const key = (d: Record<string, unknown>) =>
    [Date.parse(String(d.occurred_at)), String(d.event_id)] as const;
  const before = (a: readonly [number, string], b: readonly [number, string]) =>
    a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
  return {
    indices: { getFieldMapping: async () => ({ body: fieldMapping('keyword') }) },
    search: async ({ body }: { body: Record<string, unknown> }) => {
      type Clause = { range?: { occurred_at: { gte?: string } } };
      const filters = (body.query as { bool: { filter: Clause[] } }).bool.filter;
      const gte = filters.find((f) => f.range)?.range?.occurred_at.gte;
      const after = body.search_after as [number, string] | undefined;
      const hits = docs
        .filter((d) => gte === undefined || Date.parse(String(d.occurred_at)) >= Date.parse(gte))
        .map((d) => ({ _source: d, sort: key(d) }))
        .sort((x, y) => (before(x.sort, y.sort) ? -1 : 1))
        .filter((h) => after === undefined || before(after, h.sort))
        .slice(0, body.size as number);
      return { body: { hits: { hits } } };
    },
  } as unknown as Client;
}

const at = (s: number) => new Date(Date.UTC(2026, 11, 2, 8, 0, s)).toISOString();
const ev = (id: string, s: number) => ({ event_id: id, organization_id: 'org-a', occurred_at: at(s) });

describe('reader tail() over time', () => {
  it('yields an event that arrives late (another replica, a replay), once', async () => {
    const docs = [ev('e2', 10)];
    const reader = createReader({ organizationId: 'org-a', client: indexClient(docs) });
    const stop = new AbortController();
    const got: unknown[] = [];
    for await (const e of reader.tail({}, { since: at(0), pollMs: 1, signal: stop.signal })) {
      got.push((e as { event_id: string }).event_id);
      if (got.length === 1) docs.push(ev('e1', 9));
      if (got.length === 2) stop.abort();
    }
    expect(got).toEqual(['e2', 'e1']);
  });

  it('never yields an event twice, past 10,000 events, and pages through more than 1,000 new ones', async () => {
    const docs = Array.from({ length: 12_000 }, (_, i) => ev(`e${String(i).padStart(5, '0')}`, 0));
    const reader = createReader({ organizationId: 'org-a', client: indexClient(docs) });
    const stop = new AbortController();
    const got = new Map<string, number>();
    let polls = 0;
    const done = (async () => {
      for await (const e of reader.tail({}, { since: at(0), pollMs: 1, signal: stop.signal })) {
        const id = (e as { event_id: string }).event_id;
        got.set(id, (got.get(id) ?? 0) + 1);
      }
    })();
    while (got.size < 12_000 && polls++ < 200) await new Promise((r) => setTimeout(r, 5));
    // A few more polls over the same events: none may come again.
    await new Promise((r) => setTimeout(r, 50));
    stop.abort();
    await done;
    expect(got.size).toBe(12_000);
    expect([...got.values()].every((n) => n === 1)).toBe(true);
  });
});
