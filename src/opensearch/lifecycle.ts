import { AuditError } from '../errors.js';
import { differences } from './compare.js';

/**
 * Ages (in days) of the lifecycle's hot → warm → cold → delete states.
 *
 * @example
 * await syncPolicy(client, { prefix: 'audit', warmAfterDays: 7, coldAfterDays: 30, deleteAfterDays: 365 });
 */
export interface LifecycleOptions {
  prefix?: string;
  warmAfterDays?: number;
  coldAfterDays?: number;
  deleteAfterDays?: number;
  /** Replicas kept in the warm state; the cold state drops to 0. */
  warmReplicas?: number;
}

/**
 * The lifecycle policy's id for an index prefix.
 *
 * @example
 * policyId('audit'); // 'audit-lifecycle'
 */
export function policyId(prefix: string): string {
  return `${prefix}-lifecycle`;
}

/**
 * The body of `PUT _plugins/_ism/policies/<prefix>-lifecycle`.
 *
 * @example
 * const body = lifecyclePolicy({ prefix: 'audit', deleteAfterDays: 365 });
 */
export function lifecyclePolicy(opts: LifecycleOptions = {}) {
  const {
    prefix = 'audit',
    warmAfterDays = 30,
    coldAfterDays = 60,
    deleteAfterDays = 90,
    warmReplicas = 1,
  } = opts;
  if (!(warmAfterDays < coldAfterDays && coldAfterDays < deleteAfterDays)) {
    throw new AuditError(
      'AUDIT_ERR_INVALID_OPTION',
      `lifecycle ages must increase: warm (${warmAfterDays}) < cold (${coldAfterDays}) < delete (${deleteAfterDays})`,
    );
  }
  return {
    policy: {
      description: `Audit log lifecycle: hot(${warmAfterDays}d) -> warm -> cold read-only -> delete at ${deleteAfterDays}d`,
      default_state: 'hot',
      states: [
        {
          name: 'hot',
          actions: [],
          transitions: [{ state_name: 'warm', conditions: { min_index_age: `${warmAfterDays}d` } }],
        },
        {
          name: 'warm',
          actions: [{ replica_count: { number_of_replicas: warmReplicas } }],
          transitions: [{ state_name: 'cold', conditions: { min_index_age: `${coldAfterDays}d` } }],
        },
        {
          name: 'cold',
          actions: [{ replica_count: { number_of_replicas: 0 } }, { read_only: {} }],
          transitions: [{ state_name: 'delete', conditions: { min_index_age: `${deleteAfterDays}d` } }],
        },
        { name: 'delete', actions: [{ delete: {} }], transitions: [] },
      ],
      ism_template: [{ index_patterns: [`${prefix}-*`], priority: 100 }],
    },
  };
}

/** The REST path of the policy. */
export function policyPath(prefix = 'audit'): string {
  return `/_plugins/_ism/policies/${encodeURIComponent(policyId(prefix))}`;
}

/**
 * What differs between the policy we would install and the installed one (the `policy` object of
 * `GET _plugins/_ism/policies/<id>`). ISM adds fields of its own (policy_id, times, schema version,
 * a retry block per action), so only what we set is compared.
 */
export function policyDifferences(
  expected: ReturnType<typeof lifecyclePolicy>,
  installed: unknown,
): string[] {
  return differences(expected.policy, installed, { ignoreExtra: true });
}
