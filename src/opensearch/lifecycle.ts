// The Index State Management policy of the deployment guide (hot 30 d → warm → cold read-only →
// delete at 90 d), attached automatically to new `${prefix}-*` indices through `ism_template`.
import type { Client } from '@opensearch-project/opensearch';
import { AuditError } from '../errors.js';
import { differences } from './compare.js';
import { noHandler, send } from './request.js';

export interface LifecycleOptions {
  prefix?: string;
  warmAfterDays?: number;
  coldAfterDays?: number;
  deleteAfterDays?: number;
  /** Replicas kept in the warm state; the cold state drops to 0. */
  warmReplicas?: number;
}

export function policyId(prefix: string): string {
  return `${prefix}-lifecycle`;
}

/** The body of `PUT _plugins/_ism/policies/<prefix>-lifecycle`. */
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

/**
 * Creates or updates the lifecycle policy. Throws AUDIT_ERR_ISM_UNAVAILABLE when the cluster has no
 * ISM plugin, so a deployment cannot believe retention is in place when it is not.
 */
export async function putLifecyclePolicy(client: Client, opts: LifecycleOptions = {}) {
  const id = policyId(opts.prefix ?? 'audit');
  const path = `/_plugins/_ism/policies/${encodeURIComponent(id)}`;
  const current = await send(client, 'GET', path);
  if (noHandler(current)) {
    throw new AuditError(
      'AUDIT_ERR_ISM_UNAVAILABLE',
      `The cluster has no Index State Management plugin (GET ${path} has no handler); install opensearch-index-management to enforce retention`,
    );
  }
  const existing =
    current.statusCode === 200 ? (current.body as { _seq_no: number; _primary_term: number }) : undefined;
  const query = existing
    ? { if_seq_no: existing._seq_no, if_primary_term: existing._primary_term }
    : undefined;
  const put = await send(client, 'PUT', path, lifecyclePolicy(opts), query);
  if (put.statusCode !== 200 && put.statusCode !== 201) {
    throw new AuditError(
      'AUDIT_ERR_OPENSEARCH',
      `PUT ${path} answered ${put.statusCode}: ${JSON.stringify(put.body)}`,
    );
  }
  return put.body;
}

/** Reads the installed policy back (its `policy` object), or undefined when none is installed. */
export async function getLifecyclePolicy(client: Client, prefix = 'audit') {
  const path = `/_plugins/_ism/policies/${encodeURIComponent(policyId(prefix))}`;
  const answer = await send(client, 'GET', path);
  if (noHandler(answer)) {
    throw new AuditError(
      'AUDIT_ERR_ISM_UNAVAILABLE',
      `The cluster has no Index State Management plugin (GET ${path})`,
    );
  }
  if (answer.statusCode === 404) return undefined;
  if (answer.statusCode !== 200) {
    throw new AuditError(
      'AUDIT_ERR_OPENSEARCH',
      `GET ${path} answered ${answer.statusCode}: ${JSON.stringify(answer.body)}`,
    );
  }
  return (answer.body as { policy: ReturnType<typeof lifecyclePolicy>['policy'] }).policy;
}

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
