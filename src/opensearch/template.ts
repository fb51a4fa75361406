// The index template of the audit indices: 5 primary shards and 1 replica by default, every field
// of the audit event mapped explicitly so no field is left to dynamic mapping (a string guessed as
// `text` cannot be aggregated later).
import { differences, flatSettings } from './compare.js';

/**
 * Index prefix, shard and replica counts and refresh interval of the index template.
 *
 * @example
 * await syncTemplate(client, { prefix: 'audit', shards: 5, replicas: 1, refreshInterval: '5s' });
 */
export interface TemplateOptions {
  /** Index prefix; the template matches `${prefix}-*`. */
  prefix?: string;
  shards?: number;
  replicas?: number;
  refreshInterval?: string;
}

/**
 * The mapping of every field of a stored audit event.
 *
 * @example
 * Object.keys(eventMappings.properties); // ['event_id', 'occurred_at', ...]
 */
export const eventMappings = {
  dynamic: 'false',
  properties: {
    occurred_at: { type: 'date' },
    event_id: { type: 'keyword' },
    actor_id: { type: 'keyword' },
    actor_type: { type: 'keyword' },
    organization_id: { type: 'keyword' },
    account_id: { type: 'keyword' },
    action: { type: 'keyword' },
    target: { type: 'keyword' },
    service: { type: 'keyword' },
    environment: { type: 'keyword' },
    service_version: { type: 'keyword' },
    host: { type: 'keyword' },
    request_method: { type: 'keyword' },
    request_path: { type: 'keyword' },
    route: { type: 'keyword' },
    request_query: { type: 'object', enabled: false },
    request_body: { type: 'object', enabled: false },
    response_status_code: { type: 'short' },
    response_duration_ms: { type: 'float' },
    client_ip: { type: 'ip' },
    user_agent: { type: 'keyword', ignore_above: 512 },
    trace_id: { type: 'keyword' },
    request_id: { type: 'keyword' },
    outcome: { type: 'keyword' },
    // The hash chain (src/chain/): verify reads one organization's events sorted by chain and
    // sequence; the hashes are only read back, never searched.
    chain_id: { type: 'keyword' },
    chain_seq: { type: 'long' },
    chain_prev: { type: 'keyword', index: false },
    chain_hash: { type: 'keyword', index: false },
    // Durable routes: an intent (phase `received`) and its completion (`completed`, naming the
    // intent's event_id); `pdaas-audit intents` finds intents no completion names.
    phase: { type: 'keyword' },
    intent_id: { type: 'keyword' },
  },
} as const;

/** The fields added since the first release: put on an audit index created before they existed. */
export const chainMappings = {
  properties: {
    chain_id: eventMappings.properties.chain_id,
    chain_seq: eventMappings.properties.chain_seq,
    chain_prev: eventMappings.properties.chain_prev,
    chain_hash: eventMappings.properties.chain_hash,
    phase: eventMappings.properties.phase,
    intent_id: eventMappings.properties.intent_id,
  },
} as const;

/**
 * The index template's name for an index prefix.
 *
 * @example
 * templateName('audit'); // 'audit-template'
 */
export function templateName(prefix: string): string {
  return `${prefix}-template`;
}

/**
 * The body of `PUT _index_template/<prefix>-template`. Defaults are production values: 5 shards,
 * 1 replica.
 *
 * @example
 * const body = indexTemplate({ prefix: 'audit', shards: 1, replicas: 0 }); // a one-node cluster
 */
export function indexTemplate(opts: TemplateOptions = {}) {
  const { prefix = 'audit', shards = 5, replicas = 1, refreshInterval = '30s' } = opts;
  return {
    index_patterns: [`${prefix}-*`],
    priority: 100,
    template: {
      settings: {
        number_of_shards: shards,
        number_of_replicas: replicas,
        refresh_interval: refreshInterval,
        'index.codec': 'best_compression',
      },
      mappings: eventMappings,
    },
    _meta: { managed_by: '@pdaas/audit' },
  };
}

/** The parts of an index template we install, in a form that compares with what OpenSearch answers. */
function comparable(t: {
  index_patterns?: unknown;
  priority?: unknown;
  template?: { settings?: unknown; mappings?: unknown };
  _meta?: unknown;
}) {
  return {
    index_patterns: t.index_patterns,
    priority: t.priority,
    settings: flatSettings(t.template?.settings),
    mappings: t.template?.mappings ?? {},
    _meta: t._meta,
  };
}

/**
 * What differs between the template we would install and one `GET _index_template/<name>` returned
 * (its `index_template` object); empty when they are the same.
 */
export function templateDifferences(
  expected: ReturnType<typeof indexTemplate>,
  installed: unknown,
): string[] {
  return differences(comparable(expected), comparable(installed as Parameters<typeof comparable>[0]));
}

/**
 * When the installed template (a `GET _index_template` entry's `index_template`) would give new
 * indices other shard or replica counts than `opts` asks for: one sentence naming both values and
 * the way out, else undefined. Only these two: they decide whether a cluster can be green, and
 * another service sharing the template (same prefix) may have installed it with its own values.
 *
 * @example
 * templateSettingsMismatch(installed, { prefix: 'audit', shards: 1, replicas: 0 });
 */
export function templateSettingsMismatch(installed: unknown, opts: TemplateOptions): string | undefined {
  const { prefix = 'audit', shards = 5, replicas = 1 } = opts;
  const settings = flatSettings(
    (installed as { template?: { settings?: unknown } } | undefined)?.template?.settings,
  );
  const differing = [
    ['number_of_shards', settings['index.number_of_shards'], shards, 'AUDIT_INDEX_SHARDS'],
    ['number_of_replicas', settings['index.number_of_replicas'], replicas, 'AUDIT_INDEX_REPLICAS'],
  ].filter(([, have, want]) => have !== String(want)) as [string, string | undefined, number, string][];
  if (differing.length === 0) return undefined;
  const values = differing
    .map(([key, have, want, env]) => `${key} ${have ?? 'not set'} installed, ${want} configured (${env})`)
    .join('; ');
  const match = differing
    .filter(([, have]) => have !== undefined)
    .map(([, have, , env]) => `${env}=${have}`)
    .join(' ');
  return `Index template ${templateName(prefix)} differs from this service's settings: ${values}. It is left as installed (another service may share it) and new ${prefix}-* indices get its values: run \`pdaas-audit setup\` to install this service's values${match ? `, or set ${match} to match it` : ''}.`;
}
