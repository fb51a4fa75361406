// The idempotent installers behind `pdaas-audit setup`, against an in-memory stand-in for
// OpenSearch that answers the way the real one does: settings as strings under `index`, ISM
// decorating a stored policy (policy_id, times, a retry block per action), the security plugin
// adding fls/masked_fields to a role, and 400 "no handler found" for a missing plugin. The real
// node covers the template, the security plugin and the missing ISM plugin
// (test/integration/cli*.test.ts); ISM itself cannot be installed here, so this is where its
// comparison is tested.
import type { Client } from '@opensearch-project/opensearch';
import { describe, expect, it } from 'vitest';
import { syncPolicy, syncRole, syncTemplate } from '../../../src/opensearch/setup.js';

interface Call {
  method: string;
  path: string;
  querystring?: Record<string, unknown>;
}

function fakeCluster(plugins: { ism?: boolean; security?: boolean } = {}) {
  const store = new Map<string, { body: Record<string, unknown>; seq: number }>();
  const calls: Call[] = [];
  let seq = 0;
  const answer = (statusCode: number, body: unknown) => {
    if (statusCode >= 400)
      throw Object.assign(new Error(`HTTP ${statusCode}`), { meta: { statusCode, body } });
    return { statusCode, body };
  };
  const request = async ({ method, path, body, querystring }: Call & { body?: Record<string, unknown> }) => {
    calls.push({ method, path, ...(querystring && { querystring }) });
    const plugin = path.startsWith('/_plugins/_ism')
      ? plugins.ism
      : path.startsWith('/_plugins/_security')
        ? plugins.security
        : true;
    if (!plugin) return answer(400, { error: `no handler found for uri [${path}] and method [${method}]` });
    const name = decodeURIComponent(path.split('/').at(-1) as string);
    if (method === 'PUT') {
      store.set(path, { body: body as Record<string, unknown>, seq: ++seq });
      return answer(200, { acknowledged: true });
    }
    const stored = store.get(path);
    if (!stored) return answer(404, { error: 'not found' });
    const b = structuredClone(stored.body) as {
      template?: { settings: object; mappings: unknown };
      policy?: { states: { actions: object[] }[]; ism_template: object[] };
      index_permissions?: object[];
    };
    if (path.startsWith('/_index_template/')) {
      const { template, ...rest } = b;
      const index: Record<string, string> = {};
      for (const [k, v] of Object.entries(template?.settings ?? {}))
        index[k.replace(/^index\./, '')] = String(v);
      return answer(200, {
        index_templates: [
          {
            name,
            index_template: {
              ...rest,
              composed_of: [],
              template: { settings: { index }, mappings: template?.mappings },
            },
          },
        ],
      });
    }
    if (path.startsWith('/_plugins/_ism/')) {
      const p = b.policy as NonNullable<typeof b.policy>;
      for (const s of p.states)
        s.actions = s.actions.map((a: object) => ({
          retry: { count: 3, backoff: 'exponential', delay: '1m' },
          ...a,
        }));
      p.ism_template = p.ism_template.map((t) => ({ ...t, last_updated_time: 1764300000000 }));
      return answer(200, {
        _id: name,
        _version: stored.seq,
        _seq_no: stored.seq,
        _primary_term: 1,
        policy: {
          policy_id: name,
          last_updated_time: 1764300000000,
          schema_version: 21,
          error_notification: null,
          ...p,
        },
      });
    }
    for (const p of b.index_permissions ?? []) Object.assign(p, { fls: [], masked_fields: [] });
    return answer(200, {
      [name]: { reserved: false, hidden: false, static: false, tenant_permissions: [], ...b },
    });
  };
  return { client: { transport: { request } } as unknown as Client, calls, store };
}

describe('setup installers', () => {
  it('template: created, then unchanged, then updated with what differs', async () => {
    const { client } = fakeCluster();
    expect(await syncTemplate(client, { prefix: 'audit', shards: 1, replicas: 0 })).toEqual({
      kind: 'template',
      name: 'audit-template',
      state: 'created',
    });
    expect((await syncTemplate(client, { prefix: 'audit', shards: 1, replicas: 0 })).state).toBe('unchanged');
    expect(
      await syncTemplate(client, { prefix: 'audit', shards: 1, replicas: 1 }, { dryRun: true }),
    ).toMatchObject({
      state: 'would update',
      changes: ['settings.index.number_of_replicas: "0" → "1"'],
    });
    expect((await syncTemplate(client, { prefix: 'audit', shards: 1, replicas: 1 })).state).toBe('updated');
    expect((await syncTemplate(client, { prefix: 'audit', shards: 1, replicas: 1 })).state).toBe('unchanged');
  });

  it('policy: ISM decorations are not differences; a changed age is, and the update names the version read', async () => {
    const { client, calls } = fakeCluster({ ism: true });
    expect((await syncPolicy(client, { prefix: 'audit' })).state).toBe('created');
    expect((await syncPolicy(client, { prefix: 'audit' })).state).toBe('unchanged');
    const changed = await syncPolicy(client, { prefix: 'audit', deleteAfterDays: 120 });
    expect(changed.state).toBe('updated');
    expect(changed.changes).toContain('states[2].transitions[0].conditions.min_index_age: "90d" → "120d"');
    expect(calls.at(-1)).toMatchObject({ method: 'PUT', querystring: { if_seq_no: 1, if_primary_term: 1 } });
  });

  it('policy without the ISM plugin: skipped with AUDIT_ERR_ISM_UNAVAILABLE, nothing written', async () => {
    const { client, calls } = fakeCluster({ ism: false });
    expect(await syncPolicy(client, { prefix: 'audit' })).toMatchObject({
      state: 'skipped',
      code: 'AUDIT_ERR_ISM_UNAVAILABLE',
    });
    expect(calls.map((c) => c.method)).toEqual(['GET']);
  });

  it('role: compared in full, so an added permission is a difference; skipped without the security plugin', async () => {
    const { client, store } = fakeCluster({ security: true });
    expect((await syncRole(client, { prefix: 'audit' })).state).toBe('created');
    expect((await syncRole(client, { prefix: 'audit' })).state).toBe('unchanged');
    const path = '/_plugins/_security/api/roles/audit_writer';
    const role = store.get(path)?.body as { cluster_permissions: string[] };
    role.cluster_permissions = [...role.cluster_permissions].reverse(); // order does not matter
    expect((await syncRole(client, { prefix: 'audit' })).state).toBe('unchanged');
    role.cluster_permissions.push('indices:data/read/search');
    expect((await syncRole(client, { prefix: 'audit' }, { dryRun: true })).state).toBe('would update');
    const none = fakeCluster({ security: false });
    expect(await syncRole(none.client, { prefix: 'audit' })).toMatchObject({
      state: 'skipped',
      code: 'AUDIT_ERR_SECURITY_UNAVAILABLE',
    });
  });

  it('a refusal is a failed item, not an exception', async () => {
    const client = {
      transport: {
        request: async () => {
          throw Object.assign(new Error('403'), {
            meta: {
              statusCode: 403,
              body: { error: { reason: 'no permissions for [indices:admin/index_template/get]' } },
            },
          });
        },
      },
    } as unknown as Client;
    expect(await syncTemplate(client, { prefix: 'audit' })).toMatchObject({
      state: 'failed',
      code: 'AUDIT_ERR_OPENSEARCH',
      detail: expect.stringContaining('403 no permissions'),
    });
  });
});
