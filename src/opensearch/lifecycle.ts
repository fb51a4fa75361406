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

/**
 * Where one audit index is in its lifecycle, from ISM's explain API.
 *
 * @example
 * const states = await explainLifecycle(client, 'audit');
 * for (const s of states ?? []) console.log(s.index, s.policy ?? 'unmanaged', s.state ?? 'initializing');
 */
export interface IndexLifecycle {
  index: string;
  /** The policy managing the index; null when none does. */
  policy: string | null;
  /** Its state ('hot', 'warm', 'cold', 'delete'); null while ISM has not initialized it yet. */
  state: string | null;
  /** The action under way or last done ('transition', 'replica_count', 'read_only', ...). */
  action: string | null;
  /** True when ISM's last step on it failed and it waits (retries spent, or an operator's retry). */
  failed: boolean;
  /** ISM's latest message about it. */
  info: string | null;
}

/** The REST path of ISM's explain API for every `<prefix>-*` index. */
export function explainPath(prefix = 'audit'): string {
  return `/_plugins/_ism/explain/${encodeURIComponent(`${prefix}-*`)}`;
}

/**
 * True for ISM's answer to an explain whose pattern matches no index: a 400 "no documents to get",
 * not an error of ours.
 */
export function explainedNothing(answer: { statusCode: number; body: unknown }): boolean {
  return answer.statusCode === 400 && JSON.stringify(answer.body ?? '').includes('no documents to get');
}

/** The indices of an explain answer (`GET _plugins/_ism/explain/<pattern>`), sorted by name. */
export function parseExplain(body: unknown): IndexLifecycle[] {
  const out: IndexLifecycle[] = [];
  if (typeof body !== 'object' || body === null) return out;
  for (const [index, raw] of Object.entries(body as Record<string, unknown>)) {
    if (typeof raw !== 'object' || raw === null) continue; // total_managed_indices
    const e = raw as {
      policy_id?: string | null;
      'index.plugins.index_state_management.policy_id'?: string | null;
      state?: { name?: string };
      action?: { name?: string; failed?: boolean };
      retry_info?: { failed?: boolean };
      info?: { message?: string; cause?: string };
    };
    const policy = e.policy_id ?? e['index.plugins.index_state_management.policy_id'] ?? null;
    const message = e.info?.message ?? null;
    out.push({
      index,
      policy,
      state: e.state?.name ?? null,
      action: e.action?.name ?? null,
      failed: e.action?.failed === true || e.retry_info?.failed === true,
      info: message && e.info?.cause ? `${message} (${e.info.cause})` : message,
    });
  }
  return out.sort((a, b) => (a.index < b.index ? -1 : a.index > b.index ? 1 : 0));
}

/** How an index's lifecycle reads in one word or phrase, for tables. */
export function lifecycleLabel(l: IndexLifecycle | undefined, policy: string): string {
  if (l === undefined || l.policy === null) return 'unmanaged';
  const state = l.state ?? 'initializing';
  const own = l.policy === policy ? state : `${state} (${l.policy})`;
  return l.failed ? `${own}, failed` : own;
}
