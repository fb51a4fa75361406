import { describe, expect, it } from 'vitest';
import { isAuditError } from '../../src/errors.js';
import { lifecyclePolicy, policyId } from '../../src/opensearch/lifecycle.js';

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
