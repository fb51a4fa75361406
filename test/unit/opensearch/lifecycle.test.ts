import { describe, expect, it } from 'vitest';
import { isAuditError } from '../../../src/errors.js';
import { lifecyclePolicy, policyDifferences, policyId } from '../../../src/opensearch/lifecycle.js';

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
