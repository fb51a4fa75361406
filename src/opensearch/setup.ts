// The idempotent installers behind `pdaas-audit setup`: each reads what is installed, compares it
// with what would be installed, and writes only when they differ, so a second run changes nothing
// and says so per item. A plugin that is not there (ISM, security) makes its items `skipped` with
// a coded reason; the caller decides whether that is a failure.
import type { Client } from '@opensearch-project/opensearch';
import type { OpenSearchConfig } from '../config/options.js';
import { AuditError, type AuditErrorCode } from '../errors.js';
import { createClient } from './client.js';
import { differences } from './compare.js';
import {
  type LifecycleOptions,
  lifecyclePolicy,
  policyDifferences,
  policyId,
  policyPath,
} from './lifecycle.js';
import { type Answer, describe, expectOk, noHandler, ok, send } from './request.js';
import { rolePath, userPath, writerRole } from './security.js';
import {
  chainMappings,
  eventMappings,
  indexTemplate,
  type TemplateOptions,
  templateDifferences,
  templateName,
  templateSettingsMismatch,
} from './template.js';

export type ItemKind = 'template' | 'policy' | 'role' | 'user';
export type ItemState =
  | 'created'
  | 'updated'
  | 'unchanged'
  | 'would create'
  | 'would update'
  | 'skipped'
  | 'failed';

/**
 * What an installer found and did: `created`, `updated` (with the changes), `unchanged`, `would
 * create`/`would update` (dry run), `skipped` (plugin missing, with a code) or `failed`.
 *
 * @example
 * const result = await syncTemplate(client, { prefix: 'audit' });
 * if (result.state === 'failed') throw new Error(result.detail);
 */
export interface ItemResult {
  kind: ItemKind;
  name: string;
  state: ItemState;
  /** What differs (updated, would update). */
  changes?: string[];
  /** Why it was skipped or failed. */
  detail?: string;
  code?: AuditErrorCode;
}

/**
 * Options shared by the installers.
 *
 * @example
 * await syncTemplate(client, { prefix: 'audit' }, { dryRun: true }); // compares only
 */
export interface SyncOptions {
  /** Compare only; report `would create` / `would update`. */
  dryRun?: boolean;
}

const NO_ISM =
  'the cluster has no Index State Management plugin, so retention is not enforced (install opensearch-index-management, then run setup again)';
const NO_SECURITY = 'the cluster has no security plugin, so there are no roles or users to install';

function failed(kind: ItemKind, name: string, what: string, answer: Answer): ItemResult {
  return {
    kind,
    name,
    state: 'failed',
    code: 'AUDIT_ERR_OPENSEARCH',
    detail: `${what} answered ${describe(answer)}`,
  };
}

async function apply(
  kind: ItemKind,
  name: string,
  installed: boolean,
  changes: string[],
  write: () => Promise<Answer>,
  what: string,
  opts: SyncOptions,
): Promise<ItemResult> {
  if (installed && changes.length === 0) return { kind, name, state: 'unchanged' };
  const diff = installed ? { changes } : {};
  if (opts.dryRun) return { kind, name, state: installed ? 'would update' : 'would create', ...diff };
  const answer = await write();
  if (!ok(answer)) return failed(kind, name, what, answer);
  return { kind, name, state: installed ? 'updated' : 'created', ...diff };
}

/**
 * Installs or updates the index template `<prefix>-template` for `<prefix>-*`.
 *
 * @example
 * const { state, changes } = await syncTemplate(client, { prefix: 'audit', shards: 5, replicas: 1 });
 */
export async function syncTemplate(
  client: Client,
  opts: TemplateOptions,
  sync: SyncOptions = {},
): Promise<ItemResult> {
  const name = templateName(opts.prefix ?? 'audit');
  const path = `/_index_template/${encodeURIComponent(name)}`;
  const body = indexTemplate(opts);
  const current = await send(client, 'GET', path);
  if (current.statusCode !== 200 && current.statusCode !== 404)
    return failed('template', name, `GET ${path}`, current);
  const installed =
    current.statusCode === 200
      ? (current.body as { index_templates: { index_template: unknown }[] }).index_templates[0]
          ?.index_template
      : undefined;
  const changes = installed === undefined ? [] : templateDifferences(body, installed);
  return apply(
    'template',
    name,
    installed !== undefined,
    changes,
    () => send(client, 'PUT', path, body),
    `PUT ${path}`,
    sync,
  );
}

/**
 * Installs or updates the ISM lifecycle policy `<prefix>-lifecycle`, attached to new `<prefix>-*`
 * indices by its ism_template; `skipped` with AUDIT_ERR_ISM_UNAVAILABLE on a cluster without ISM.
 *
 * @example
 * const { state } = await syncPolicy(client, { prefix: 'audit', deleteAfterDays: 365 });
 */
export async function syncPolicy(
  client: Client,
  opts: LifecycleOptions,
  sync: SyncOptions = {},
): Promise<ItemResult> {
  const prefix = opts.prefix ?? 'audit';
  const name = policyId(prefix);
  const path = policyPath(prefix);
  const body = lifecyclePolicy(opts);
  const current = await send(client, 'GET', path);
  if (noHandler(current))
    return { kind: 'policy', name, state: 'skipped', code: 'AUDIT_ERR_ISM_UNAVAILABLE', detail: NO_ISM };
  if (current.statusCode !== 200 && current.statusCode !== 404)
    return failed('policy', name, `GET ${path}`, current);
  const installed =
    current.statusCode === 200
      ? (current.body as { _seq_no: number; _primary_term: number; policy: unknown })
      : undefined;
  const changes = installed === undefined ? [] : policyDifferences(body, installed.policy);
  // Optimistic concurrency: an update names the version it read, so a concurrent edit is not lost.
  const query = installed && { if_seq_no: installed._seq_no, if_primary_term: installed._primary_term };
  return apply(
    'policy',
    name,
    installed !== undefined,
    changes,
    () => send(client, 'PUT', path, body, query),
    `PUT ${path}`,
    sync,
  );
}

/**
 * Installs or updates the least-privilege writer role (security plugin); `skipped` with
 * AUDIT_ERR_SECURITY_UNAVAILABLE on a cluster without it.
 *
 * @example
 * const { state } = await syncRole(client, { prefix: 'audit', name: 'audit_writer' });
 */
export async function syncRole(
  client: Client,
  opts: { prefix?: string; name?: string },
  sync: SyncOptions = {},
): Promise<ItemResult> {
  const name = opts.name ?? 'audit_writer';
  const path = rolePath(name);
  const body = writerRole(opts.prefix);
  const current = await send(client, 'GET', path);
  if (noHandler(current))
    return {
      kind: 'role',
      name,
      state: 'skipped',
      code: 'AUDIT_ERR_SECURITY_UNAVAILABLE',
      detail: NO_SECURITY,
    };
  if (current.statusCode !== 200 && current.statusCode !== 404)
    return failed('role', name, `GET ${path}`, current);
  const role =
    current.statusCode === 200
      ? (current.body as Record<string, { cluster_permissions?: unknown; index_permissions?: unknown[] }>)[
          name
        ]
      : undefined;
  // Compared in full (not as a subset): a permission someone added is a difference for a least-privilege role.
  const changes =
    role === undefined
      ? []
      : differences(
          body,
          {
            cluster_permissions: role.cluster_permissions,
            index_permissions: (role.index_permissions ?? []).map((p) => {
              const { index_patterns, allowed_actions } = p as Record<string, unknown>;
              return { index_patterns, allowed_actions };
            }),
          },
          { unordered: true },
        );
  return apply(
    'role',
    name,
    role !== undefined,
    changes,
    () => send(client, 'PUT', path, body),
    `PUT ${path}`,
    sync,
  );
}

/** Can `user` log in with `password`? The only way to compare a password the plugin stores as a hash. */
async function canLogin(os: OpenSearchConfig, username: string, password: string): Promise<boolean> {
  const client = createClient({ ...os, username, password });
  try {
    return (await send(client, 'GET', '/_plugins/_security/authinfo')).statusCode === 200;
  } finally {
    await client.close();
  }
}

/**
 * The internal user the app writes as, with `role` among its roles (the internal user's
 * opendistro_security_roles). Other roles, backend roles and attributes it has are kept.
 */
export async function syncUser(
  client: Client,
  os: OpenSearchConfig,
  opts: { name: string; password: string; role: string },
  sync: SyncOptions = {},
): Promise<ItemResult> {
  const { name, password, role } = opts;
  const path = userPath(name);
  const current = await send(client, 'GET', path);
  if (noHandler(current))
    return {
      kind: 'user',
      name,
      state: 'skipped',
      code: 'AUDIT_ERR_SECURITY_UNAVAILABLE',
      detail: NO_SECURITY,
    };
  if (current.statusCode !== 200 && current.statusCode !== 404)
    return failed('user', name, `GET ${path}`, current);
  const user =
    current.statusCode === 200
      ? (
          current.body as Record<
            string,
            { opendistro_security_roles?: string[]; backend_roles?: string[]; attributes?: object }
          >
        )[name]
      : undefined;
  const roles = user?.opendistro_security_roles ?? [];
  const changes: string[] = [];
  if (user) {
    if (!roles.includes(role)) changes.push(`opendistro_security_roles: ${role} added`);
    if (!(await canLogin(os, name, password))) changes.push('password: changed');
  }
  const body = {
    password,
    opendistro_security_roles: roles.includes(role) ? roles : [...roles, role],
    backend_roles: user?.backend_roles ?? [],
    attributes: user?.attributes ?? {},
  };
  return apply(
    'user',
    name,
    user !== undefined,
    changes,
    () => send(client, 'PUT', path, body),
    `PUT ${path}`,
    sync,
  );
}

/**
 * Creates `index` with the audit mapping unless it exists. The writer calls it before its first
 * write to an index: without it, a missing template (a writer role may not install one) would let
 * `_bulk` create the index with dynamic mapping, organization_id would become `text`, and a reader
 * filtering on one organization would match others. Settings come from the template, if any.
 */
export async function ensureIndex(client: Client, index: string): Promise<'created' | 'present'> {
  const path = `/${encodeURIComponent(index)}`;
  const answer = await send(client, 'PUT', path, { mappings: eventMappings });
  if (ok(answer)) return 'created';
  if (answer.statusCode === 400 && /resource_already_exists_exception/.test(JSON.stringify(answer.body))) {
    // An index created by an earlier version lacks the chain's fields (verify sorts by them) and
    // the durable routes' (intents are found by them).
    // Adding fields is always allowed; a writer role without the mapping permission is refused,
    // and then `pdaas-audit setup` (an admin) adds them.
    await send(client, 'PUT', `${path}/_mapping`, chainMappings).catch(() => undefined);
    return 'present';
  }
  throw new AuditError('AUDIT_ERR_OPENSEARCH', `PUT ${path} answered ${describe(answer)}`);
}

/**
 * Creates the checkpoint index (src/chain/checkpoint.ts) unless it exists: one shard (checkpoints
 * are few and small), the audit mapping (its organization_id and chain fields are the checkpoint's).
 */
export async function ensureCheckpointIndex(
  client: Client,
  index: string,
  replicas: number,
): Promise<'created' | 'present'> {
  const path = `/${encodeURIComponent(index)}`;
  const answer = await send(client, 'PUT', path, {
    settings: { number_of_shards: 1, number_of_replicas: replicas },
    mappings: eventMappings,
  });
  if (ok(answer)) return 'created';
  if (answer.statusCode === 400 && /resource_already_exists_exception/.test(JSON.stringify(answer.body)))
    return 'present';
  throw new AuditError('AUDIT_ERR_OPENSEARCH', `PUT ${path} answered ${describe(answer)}`);
}

/** Reports a template mismatch; by default as a process warning (a worker thread's goes to stderr). */
export type TemplateWarn = (
  message: string,
  fields: { template: string; code: 'AUDIT_WARN_TEMPLATE_DIFFERS' },
) => void;

const emitTemplateWarning: TemplateWarn = (message, { code }) =>
  process.emitWarning(message, { code, type: 'AuditWarning' });

// Mismatches already reported by this thread: ensureTemplate runs before the first write to every
// new index, and one warning per template and values says it all.
const reported = new Set<string>();

/**
 * Installs the template when it is missing and leaves one that exists alone, as the workers do
 * before their first write to an index (changing an installed template is setup's decision). An
 * installed template whose shard or replica counts differ from `opts` is reported once per thread
 * (`AUDIT_WARN_TEMPLATE_DIFFERS`, through `warn` or as a process warning), never rewritten.
 *
 * @example
 * await ensureTemplate(client, { prefix: 'audit', shards: 1, replicas: 0 }, (msg) => log.warn(msg));
 */
export async function ensureTemplate(
  client: Client,
  opts: TemplateOptions,
  warn: TemplateWarn = emitTemplateWarning,
): Promise<'installed' | 'present'> {
  const name = templateName(opts.prefix ?? 'audit');
  const path = `/_index_template/${encodeURIComponent(name)}`;
  const current = await send(client, 'GET', path);
  if (current.statusCode === 200) {
    const installed = (current.body as { index_templates?: { index_template?: unknown }[] })
      .index_templates?.[0]?.index_template;
    const mismatch = templateSettingsMismatch(installed, opts);
    if (mismatch !== undefined && !reported.has(mismatch)) {
      reported.add(mismatch);
      warn(mismatch, { template: name, code: 'AUDIT_WARN_TEMPLATE_DIFFERS' });
    }
    return 'present';
  }
  if (current.statusCode !== 404)
    throw new AuditError('AUDIT_ERR_OPENSEARCH', `GET ${path} answered ${describe(current)}`);
  expectOk(await send(client, 'PUT', path, indexTemplate(opts)), `PUT ${path}`);
  return 'installed';
}
