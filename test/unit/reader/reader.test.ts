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
