import { describe, expect, it } from 'vitest';
import { isAuditError } from '../../../src/errors.js';
import {
  lifecycleLabel,
  lifecyclePolicy,
  parseExplain,
  policyDifferences,
  policyId,
} from '../../../src/opensearch/lifecycle.js';

describe('lifecyclePolicy', () => {
  it('is the deployment guide policy: hot 30 d, warm, cold read-only at 60 d, delete at 90 d', () => {
    const { policy } = lifecyclePolicy();
    expect(policy.default_state).toBe('hot');
    expect(policy.states.map((s) => s.name)).toEqual(['hot', 'warm', 'cold', 'delete']);
    expect(policy.states.map((s) => s.transitions[0]?.conditions.min_index_age)).toEqual([
      '30d',
      '60d',
      '90d',
      undefined,
    ]);
    expect(policy.states[2]?.actions).toEqual([
      { replica_count: { number_of_replicas: 0 } },
      { read_only: {} },
    ]);
    expect(policy.states[3]?.actions).toEqual([{ delete: {} }]);
    expect(policy.ism_template).toEqual([{ index_patterns: ['audit-*'], priority: 100 }]);
    expect(policyId('audit')).toBe('audit-lifecycle');
  });

  it('refuses ages that do not increase', () => {
    let caught: unknown;
    try {
      lifecyclePolicy({ coldAfterDays: 20 });
    } catch (err) {
      caught = err;
    }
    expect(isAuditError(caught, 'AUDIT_ERR_INVALID_OPTION')).toBe(true);
    expect((caught as Error).message).toContain('cold (20)');
  });
});

describe('policyDifferences', () => {
  // What GET _plugins/_ism/policies/<id> answers for a policy we PUT: ISM adds its own fields.
  function asInstalled(body: ReturnType<typeof lifecyclePolicy>) {
    const p = structuredClone(body.policy) as unknown as {
      states: { actions: object[] }[];
      ism_template: object[];
    };
    for (const s of p.states)
      s.actions = s.actions.map((a: object) => ({
        retry: { count: 3, backoff: 'exponential', delay: '1m' },
        ...a,
      }));
    p.ism_template = p.ism_template.map((t) => ({ ...t, last_updated_time: 1764300000000 }));
    return {
      policy_id: 'audit-lifecycle',
      last_updated_time: 1764300000000,
      schema_version: 21,
      error_notification: null,
      ...p,
    };
  }

  it('ignores what ISM adds and names what we set differently', () => {
    expect(policyDifferences(lifecyclePolicy(), asInstalled(lifecyclePolicy()))).toEqual([]);
    expect(policyDifferences(lifecyclePolicy({ warmReplicas: 0 }), asInstalled(lifecyclePolicy()))).toEqual([
      'states[1].actions[0].replica_count.number_of_replicas: 1 → 0',
    ]);
    expect(policyDifferences(lifecyclePolicy({ prefix: 'x' }), asInstalled(lifecyclePolicy()))).toEqual([
      'ism_template[0].index_patterns[0]: "audit-*" → "x-*"',
    ]);
  });
});

describe('parseExplain and lifecycleLabel', () => {
  // The shape of `GET _plugins/_ism/explain/<pattern>` on OpenSearch 2.19 with the ISM plugin.
  const body = {
    'audit-api-2026-12-02': {
      'index.plugins.index_state_management.policy_id': 'audit-lifecycle',
      'index.opendistro.index_state_management.policy_id': 'audit-lifecycle',
      index: 'audit-api-2026-12-02',
      policy_id: 'audit-lifecycle',
      state: { name: 'warm', start_time: 1 },
      action: { name: 'transition', start_time: 2, index: 0, failed: false, consumed_retries: 0 },
      retry_info: { failed: false, consumed_retries: 0 },
      info: { message: 'Transitioning to cold' },
      enabled: true,
    },
    'audit-api-2026-12-01': {
      'index.plugins.index_state_management.policy_id': 'audit-lifecycle',
      index: 'audit-api-2026-12-01',
      policy_id: 'audit-lifecycle',
      state: { name: 'cold' },
      action: { name: 'read_only', failed: true },
      retry_info: { failed: true, consumed_retries: 3 },
      info: { message: 'Failed to set index to read-only', cause: 'cluster_block_exception' },
      enabled: false,
    },
    'audit-api-2026-12-03': {
      'index.plugins.index_state_management.policy_id': 'audit-lifecycle',
      'index.opendistro.index_state_management.policy_id': 'audit-lifecycle',
      index: 'audit-api-2026-12-03',
      enabled: true,
    },
    'audit-api-2020-01-01': {
      'index.plugins.index_state_management.policy_id': null,
      'index.opendistro.index_state_management.policy_id': null,
      enabled: null,
    },
    'audit-api-2026-11-30': { policy_id: 'other-policy', state: { name: 'hot' } },
    total_managed_indices: 3,
  };

  it('reads each index: policy, state, action, failure and message, sorted by name', () => {
    expect(parseExplain(body)).toEqual([
      { index: 'audit-api-2020-01-01', policy: null, state: null, action: null, failed: false, info: null },
      {
        index: 'audit-api-2026-11-30',
        policy: 'other-policy',
        state: 'hot',
        action: null,
        failed: false,
        info: null,
      },
      {
        index: 'audit-api-2026-12-01',
        policy: 'audit-lifecycle',
        state: 'cold',
        action: 'read_only',
        failed: true,
        info: 'Failed to set index to read-only (cluster_block_exception)',
      },
      {
        index: 'audit-api-2026-12-02',
        policy: 'audit-lifecycle',
        state: 'warm',
        action: 'transition',
        failed: false,
        info: 'Transitioning to cold',
      },
      {
        index: 'audit-api-2026-12-03',
        policy: 'audit-lifecycle',
        state: null,
        action: null,
        failed: false,
        info: null,
      },
    ]);
    expect(parseExplain(null)).toEqual([]);
  });

  it('labels an index by its state under our policy, another policy, none, or a failure', () => {
    const byIndex = new Map(parseExplain(body).map((l) => [l.index, l]));
    const label = (i: string) => lifecycleLabel(byIndex.get(i), 'audit-lifecycle');
    expect(label('audit-api-2026-12-02')).toBe('warm');
    expect(label('audit-api-2026-12-01')).toBe('cold, failed');
    expect(label('audit-api-2026-12-03')).toBe('initializing');
    expect(label('audit-api-2020-01-01')).toBe('unmanaged');
    expect(label('audit-api-2026-11-30')).toBe('hot (other-policy)');
    expect(label('not-explained')).toBe('unmanaged');
  });
});
