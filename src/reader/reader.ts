// The read side, bound to one organization when it is created. Every query it sends filters on that
// organization_id and routes to that organization's shard; callers pass typed filter values, never
// query DSL, so nothing they pass can widen the query. Paging is `search_after` on
// (occurred_at, event_id), both fields of the event itself.

import type { KeyObject } from 'node:crypto';
import type { Client } from '@opensearch-project/opensearch';
import { type Checkpoint, checkpointPattern, eventIndices, publicKeyFromPem } from '../chain/checkpoint.js';
import type { ChainLink } from '../chain/links.js';
import {
  type ChainStart,
  type LinkLookup,
  linkProblems,
  type VerifyReport,
  verifyEntries,
} from '../chain/verify.js';
import type { AuditOptions } from '../config/options.js';
import { resolveConfig } from '../config/resolve.js';
import { AuditError } from '../errors.js';
import { createClient, warnIfInsecure } from '../opensearch/client.js';

/**
 * Typed filters of AuditReader (never query DSL, so nothing passed can widen the query).
 *
 * @example
 * await reader.search({ actorId: 'user-42', status: [400, 499], from: '2026-12-01T00:00:00Z' });
 */
export interface EventFilter {
  /** Inclusive lower bound of occurred_at (Date, ISO string or epoch ms). */
  from?: Date | string | number;
  /** Exclusive upper bound of occurred_at. */
  to?: Date | string | number;
  actorId?: string;
  action?: string;
  target?: string;
  /** An exact status code, or [min, max] inclusive. */
  status?: number | readonly [number, number];
  outcome?: 'success' | 'failure';
}

/**
 * Page size and position of AuditReader.search().
 *
 * @example
 * await reader.search({}, { size: 50, after: previous.next });
 */
export interface SearchOptions {
  /** Events per page, 1..1000 (default 100). */
  size?: number;
  /** The `next` cursor of the previous page. */
  after?: string;
}

/**
 * One page of search results, newest first.
 *
 * @example
 * let page = await reader.search({ action: 'policies.delete' });
 * while (page.next) page = await reader.search({ action: 'policies.delete' }, { after: page.next });
 */
export interface AuditEventPage {
  events: Record<string, unknown>[];
  /** Pass as `after` for the next page; undefined on the last page. */
  next: string | undefined;
}

/**
 * The options of createReader(): the organization, and the connection like createAudit()'s.
 *
 * @example
 * createReader({ organizationId: 'org-17', opensearch: { host: 'opensearch.internal', useSsl: true } });
 */
export interface ReaderOptions extends Pick<AuditOptions, 'opensearch' | 'indexPrefix' | 'serviceName'> {
  organizationId: string;
  /** Query every service's indices (default) or only AUDIT_SERVICE_NAME's. */
  allServices?: boolean;
  /** An OpenSearch client to use instead of one made from the options (the caller closes it). */
  client?: Client;
}

/** How far behind the newest event seen a tail still looks for events that arrive late. */
const TAIL_LATE_MS = 5 * 60_000;
const TAIL_PAGE = 1000;
/** Entries per page when verifying: large pages keep the round trips few (search_after has no window limit). */
const CHAIN_PAGE = 5000;
/** Intents per page of unfinishedIntents(); each page costs one more search for its completions. */
const INTENT_PAGE = 1000;
/** How long a successful check of the tenant field's mapping holds. */
const TENANT_CHECK_MS = 60_000;
const FILTER_KEYS = new Set(['from', 'to', 'actorId', 'action', 'target', 'status', 'outcome']);
const MAX_VALUE = 512;

function invalid(msg: string): never {
  throw new AuditError('AUDIT_ERR_INVALID_OPTION', msg);
}

function text(name: string, v: unknown): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_VALUE) {
    invalid(`reader filter ${name} must be a non-empty string of at most ${MAX_VALUE} characters`);
  }
  return v;
}

function time(name: string, v: unknown): string {
  const d = v instanceof Date ? v : typeof v === 'number' || typeof v === 'string' ? new Date(v) : undefined;
  if (!d || Number.isNaN(d.getTime()))
    invalid(`reader filter ${name} must be a Date, an ISO time or epoch ms`);
  return d.toISOString();
}

/** A search failure worth polling again: 429, 502-504, or no answer at all (connection, timeout). */
function isTransient(err: unknown): boolean {
  const e = err as { name?: string; meta?: { statusCode?: number } };
  if (e.name === 'ConnectionError' || e.name === 'TimeoutError' || e.name === 'NoLivingConnectionsError')
    return true;
  const status = e.meta?.statusCode;
  return status === 429 || (status !== undefined && status >= 502 && status <= 504);
}

function statusCode(v: unknown): number {
  if (!Number.isInteger(v) || (v as number) < 100 || (v as number) > 599)
    invalid('reader filter status must be an HTTP status code (100..599)');
  return v as number;
}

/** Turns a filter into query clauses; throws on any unknown key or ill-typed value. */
export function filterClauses(filter: EventFilter): object[] {
  if (typeof filter !== 'object' || filter === null) invalid('reader filter must be an object');
  for (const key of Object.keys(filter)) if (!FILTER_KEYS.has(key)) invalid(`unknown reader filter ${key}`);
  const out: object[] = [];
  if (filter.from !== undefined || filter.to !== undefined) {
    out.push({
      range: {
        occurred_at: {
          ...(filter.from !== undefined && { gte: time('from', filter.from) }),
          ...(filter.to !== undefined && { lt: time('to', filter.to) }),
        },
      },
    });
  }
  if (filter.actorId !== undefined) out.push({ term: { actor_id: text('actorId', filter.actorId) } });
  if (filter.action !== undefined) out.push({ term: { action: text('action', filter.action) } });
  if (filter.target !== undefined) out.push({ term: { target: text('target', filter.target) } });
  if (filter.outcome !== undefined) {
    if (filter.outcome !== 'success' && filter.outcome !== 'failure')
      invalid('reader filter outcome must be success or failure');
    out.push({ term: { outcome: filter.outcome } });
  }
  if (filter.status !== undefined) {
    if (Array.isArray(filter.status)) {
      out.push({
        range: {
          response_status_code: { gte: statusCode(filter.status[0]), lte: statusCode(filter.status[1]) },
        },
      });
    } else {
      out.push({ term: { response_status_code: statusCode(filter.status) } });
    }
  }
  return out;
}

function encodeCursor(sort: unknown[]): string {
  return Buffer.from(JSON.stringify(sort)).toString('base64url');
}

function decodeCursor(cursor: string): [number, string] {
  let sort: unknown;
  try {
    sort = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    invalid('reader cursor is not one this reader produced');
  }
  if (
    !Array.isArray(sort) ||
    sort.length !== 2 ||
    typeof sort[0] !== 'number' ||
    typeof sort[1] !== 'string'
  ) {
    invalid('reader cursor is not one this reader produced');
  }
  return sort as [number, string];
}

/**
 * Reads the audit trail of one organization, and only that one: every query it sends filters on
 * the organization and routes to its shard. Make one with createReader().
 *
 * @example
 * const reader = createReader({ organizationId: 'org-17' });
 * const failures = await reader.count({ outcome: 'failure', from: Date.now() - 3_600_000 });
 * await reader.close();
 */
export class AuditReader {
  readonly organizationId: string;
  readonly #client: Client;
  readonly #index: string;
  readonly #ownsClient: boolean;
  /** When the tenant field's mapping was last found to be a keyword in every matching index. */
  #checkedAt = Number.NEGATIVE_INFINITY;

  /** Use createReader(). `ownsClient`: close() closes the client (false for one the caller passed). */
  readonly #checkpointIndex: string | undefined;

  constructor(
    client: Client,
    index: string,
    organizationId: string,
    ownsClient = true,
    checkpointIndexName?: string,
  ) {
    this.#client = client;
    this.#index = index;
    this.organizationId = organizationId;
    this.#ownsClient = ownsClient;
    this.#checkpointIndex = checkpointIndexName;
  }

  /** Where every request goes: the organization's shard, and no error for days without an index. */
  #scope() {
    return {
      index: this.#index,
      routing: this.organizationId,
      ignore_unavailable: true,
      allow_no_indices: true,
    };
  }

  /**
   * The organization filter is a term query, exact only on a keyword: on a `text` field (an index
   * made by dynamic mapping) `acme` would also match `acme-labs`. So before answering, every index
   * the reader would search must map organization_id as a keyword; checked again each minute, as
   * new indices appear daily.
   */
  async #checkTenantField(): Promise<void> {
    if (Date.now() - this.#checkedAt < TENANT_CHECK_MS) return;
    let body: Record<string, { mappings?: Record<string, { mapping?: Record<string, { type?: string }> }> }>;
    try {
      const res = await this.#client.indices.getFieldMapping({
        index: this.#index,
        fields: 'organization_id',
        ignore_unavailable: true,
        allow_no_indices: true,
      } as never);
      body = res.body as typeof body;
    } catch (err) {
      // No index matches yet (a tail started before the day's first event): nothing to check now.
      if ((err as { meta?: { statusCode?: number } }).meta?.statusCode === 404) return;
      throw new AuditError(
        'AUDIT_ERR_OPENSEARCH',
        `cannot check that organization_id is a keyword in ${this.#index} (the reader needs indices:admin/mappings/fields/get): ${(err as Error).message}`,
        { cause: err },
      );
    }
    const bad = Object.entries(body)
      .filter(([, m]) => {
        const type = m.mappings?.organization_id?.mapping?.organization_id?.type;
        return type !== undefined && type !== 'keyword';
      })
      .map(([index]) => index)
      .sort();
    if (bad.length > 0) {
      throw new AuditError(
        'AUDIT_ERR_TENANT_MAPPING',
        `organization_id is not a keyword in ${bad.join(', ')}: there, a search for one organization could match others, so the reader refuses. Reindex those indices with the audit mapping (pdaas-audit setup installs the template) or delete them.`,
      );
    }
    this.#checkedAt = Date.now();
  }

  #query(filter: EventFilter) {
    // The organization filter is always there and always first; caller clauses can only narrow.
    return {
      bool: { filter: [{ term: { organization_id: this.organizationId } }, ...filterClauses(filter)] },
    };
  }

  /** One page of events, newest first. */
  async search(filter: EventFilter = {}, opts: SearchOptions = {}): Promise<AuditEventPage> {
    const size = opts.size ?? 100;
    if (!Number.isInteger(size) || size < 1 || size > 1000)
      invalid('reader page size must be an integer from 1 to 1000');
    await this.#checkTenantField();
    const res = await this.#client.search({
      ...this.#scope(),
      body: {
        size,
        query: this.#query(filter),
        sort: [{ occurred_at: 'desc' }, { event_id: 'desc' }],
        ...(opts.after !== undefined && { search_after: decodeCursor(opts.after) }),
      },
    } as never);
    const hits = (res.body as { hits: { hits: { _source: Record<string, unknown>; sort: unknown[] }[] } })
      .hits.hits;
    const last = hits.at(-1);
    return {
      events: hits.map((h) => h._source),
      next: hits.length === size && last ? encodeCursor(last.sort) : undefined,
    };
  }

  /** How many events match. */
  async count(filter: EventFilter = {}): Promise<number> {
    await this.#checkTenantField();
    const res = await this.#client.count({
      ...this.#scope(),
      body: { query: this.#query(filter) },
    } as never);
    return (res.body as { count: number }).count;
  }

  /**
   * Follows new events (oldest first) by polling every `pollMs` until `signal` aborts. Events become
   * visible after the index refreshes (the template's refresh_interval). An event that arrives late
   * (from another replica, or replayed from a spool) is still yielded when its time is at most
   * `lateMs` (default 5 minutes) behind the newest event seen; no event is yielded twice.
   */
  async *tail(
    filter: EventFilter = {},
    opts: { since?: Date | string | number; pollMs?: number; signal?: AbortSignal; lateMs?: number } = {},
  ): AsyncGenerator<Record<string, unknown>> {
    const start = Date.parse(time('since', opts.since ?? Date.now()));
    const lateMs = opts.lateMs ?? TAIL_LATE_MS;
    const pollMs = opts.pollMs ?? 1000;
    let newest = start;
    // The events yielded within the late window, by id, with their time: what may come again.
    const seen = new Map<string, number>();
    while (!opts.signal?.aborted) {
      await this.#checkTenantField();
      const from = new Date(Math.max(start, newest - lateMs));
      let after: unknown[] | undefined;
      for (;;) {
        let res: { body: unknown };
        try {
          res = await this.#client.search({
            ...this.#scope(),
            body: {
              size: TAIL_PAGE,
              query: this.#query({ ...filter, from }),
              sort: [{ occurred_at: 'asc' }, { event_id: 'asc' }],
              ...(after !== undefined && { search_after: after }),
            },
          } as never);
        } catch (err) {
          // A follower outlives passing trouble: a shard still starting while the day's index is
          // created (503), a busy node (429), a dropped connection. Anything else is a real error.
          if (!isTransient(err)) throw err;
          break;
        }
        const hits = (
          res.body as { hits: { hits: { _source: Record<string, unknown>; sort?: unknown[] }[] } }
        ).hits.hits;
        for (const h of hits) {
          const id = String(h._source.event_id);
          if (seen.has(id)) continue;
          const ms = Date.parse(String(h._source.occurred_at));
          seen.set(id, ms);
          if (ms > newest) newest = ms;
          yield h._source;
          if (opts.signal?.aborted) return;
        }
        if (hits.length < TAIL_PAGE) break;
        after = hits.at(-1)?.sort;
      }
      for (const [id, ms] of seen) if (ms < newest - lateMs) seen.delete(id);
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  /**
   * Every event of the organization in the filter's range, sorted by hash chain and position (then
   * event id), with its document id: what verify() reads. Pages of `pageSize` with search_after.
   */
  async *chainEntries(
    filter: Pick<EventFilter, 'from' | 'to'> = {},
    pageSize = CHAIN_PAGE,
  ): AsyncGenerator<{ id: string; source: Record<string, unknown> }> {
    await this.#checkTenantField();
    let after: unknown[] | undefined;
    for (;;) {
      const res = await this.#client.search({
        ...this.#scope(),
        body: {
          size: pageSize,
          query: this.#query(filter),
          sort: [
            { chain_id: { order: 'asc', unmapped_type: 'keyword', missing: '_last' } },
            { chain_seq: { order: 'asc', unmapped_type: 'long', missing: '_last' } },
            { event_id: 'asc' },
          ],
          ...(after !== undefined && { search_after: after }),
        },
      } as never);
      const hits = (
        res.body as { hits: { hits: { _id: string; _source: Record<string, unknown>; sort: unknown[] }[] } }
      ).hits.hits;
      for (const h of hits) yield { id: h._id, source: h._source };
      if (hits.length < pageSize) return;
      after = hits.at(-1)?.sort;
    }
  }

  /**
   * Checks the organization's hash chains in the range: recomputes every entry's hash and checks
   * every link and position. See VerifyReport for what it finds.
   */
  async verify(
    filter: Pick<EventFilter, 'from' | 'to'> = {},
    opts: {
      /** Ed25519 public keys (PEM) the checkpoints may be signed with. */
      publicKeys?: readonly string[];
      /** Checkpoints from elsewhere (AUDIT_CHECKPOINT_DIR files) instead of the checkpoint index. */
      checkpoints?: readonly Checkpoint[];
      onProgress?: (events: number) => void;
    } = {},
  ): Promise<VerifyReport> {
    const keys = new Map<string, KeyObject>();
    for (const pem of opts.publicKeys ?? []) {
      const { key, keyId } = publicKeyFromPem(pem);
      keys.set(keyId, key);
    }
    const checkpoints =
      opts.checkpoints?.filter((c) => c.organization_id === this.organizationId) ??
      (await this.checkpoints(filter));
    const since = filter.from === undefined ? undefined : Date.parse(time('from', filter.from));
    const links = await this.#linkLookups(await this.#chainStarts(filter), checkpoints);
    const report = await verifyEntries(this.organizationId, this.chainEntries(filter), {
      checkpoints,
      keys,
      ...(since !== undefined && { since }),
      ...(opts.onProgress && { onProgress: opts.onProgress }),
    });
    if (links.length > 0) report.problems.push(...linkProblems(links));
    return report;
  }

  /** What is stored where each linked chain says its predecessor ended (few: one per restart). */
  async #linkLookups(starts: ChainStart[], checkpoints: readonly Checkpoint[]): Promise<LinkLookup[]> {
    const out: LinkLookup[] = [];
    for (const start of starts) {
      const { chain_id, chain_seq } = start.link;
      const res = await this.#client.search({
        ...this.#scope(),
        body: {
          size: 1,
          track_total_hits: true,
          query: {
            bool: { filter: [{ term: { organization_id: this.organizationId } }, { term: { chain_id } }] },
          },
          aggs: { last: { max: { field: 'chain_seq' } } },
        },
      } as never);
      const body = res.body as {
        hits: { total: { value: number } };
        aggregations?: { last?: { value: number | null } };
      };
      const at = await this.#client.search({
        ...this.#scope(),
        body: {
          size: 1,
          query: {
            bool: {
              filter: [
                { term: { organization_id: this.organizationId } },
                { term: { chain_id } },
                { term: { chain_seq } },
              ],
            },
          },
          _source: ['chain_hash'],
        },
      } as never);
      const hit = (at.body as { hits: { hits: { _source: { chain_hash?: string } }[] } }).hits.hits[0];
      out.push({
        start,
        hash: hit?._source.chain_hash,
        entries: body.hits.total.value,
        lastSeq: body.aggregations?.last?.value ?? 0,
        voided: checkpoints.some((c) => c.chain_id === chain_id && (c.voided ?? []).includes(chain_seq)),
        // Unknown index (an older heads file): only a stored entry proves anything.
        indexExists:
          start.link.index !== '' &&
          (await this.#client.indices
            .exists({ index: start.link.index })
            .then((r) => r.body === true)
            // A reader not allowed to ask proves nothing either way: no alarm.
            .catch(() => false)),
      });
    }
    return out;
  }

  /** The first entries in the range that link their chain to an earlier process's (chain_link). */
  async #chainStarts(filter: Pick<EventFilter, 'from' | 'to'>): Promise<ChainStart[]> {
    const res = await this.#client.search({
      ...this.#scope(),
      body: {
        size: 10_000,
        query: { bool: { filter: [...this.#query(filter).bool.filter, { term: { chain_seq: 1 } }] } },
        _source: ['chain_id', 'chain_prev', 'chain_link'],
      },
    } as never);
    const hits = (res.body as { hits: { hits: { _source: Record<string, unknown> }[] } }).hits.hits;
    return hits.flatMap(({ _source: s }) => {
      const link = s.chain_link as ChainLink | undefined;
      return link && typeof link.chain_id === 'string' && typeof link.chain_seq === 'number'
        ? [{ chainId: String(s.chain_id), prev: String(s.chain_prev), link }]
        : [];
    });
  }

  /**
   * The organization's checkpoints (src/chain/checkpoint.ts) made from `filter.from` on (all before
   * `to` and the ones after it, since a later checkpoint protects earlier entries).
   */
  async checkpoints(filter: Pick<EventFilter, 'from'> = {}): Promise<Checkpoint[]> {
    if (this.#checkpointIndex === undefined) return [];
    const out: Checkpoint[] = [];
    let after: unknown[] | undefined;
    const query = {
      bool: {
        filter: [
          { term: { organization_id: this.organizationId } },
          ...(filter.from !== undefined
            ? [{ range: { occurred_at: { gte: time('from', filter.from) } } }]
            : []),
        ],
      },
    };
    for (;;) {
      const res = await this.#client.search({
        index: this.#checkpointIndex,
        routing: this.organizationId,
        ignore_unavailable: true,
        allow_no_indices: true,
        body: {
          size: CHAIN_PAGE,
          query,
          sort: [
            { chain_id: 'asc' },
            { chain_seq: 'asc' },
            { occurred_at: 'asc' },
            { event_id: { order: 'asc', unmapped_type: 'keyword' } },
          ],
          ...(after !== undefined && { search_after: after }),
        },
      } as never);
      const hits = (res.body as { hits: { hits: { _source: Checkpoint; sort: unknown[] }[] } }).hits.hits;
      for (const h of hits) out.push(h._source);
      if (hits.length < CHAIN_PAGE) return out;
      after = hits.at(-1)?.sort;
    }
  }

  /**
   * The intents of durable routes (phase `received`) that no completion names, oldest first: a
   * request whose handler started and never finished (the process died inside it), or whose
   * completion is not stored yet. `from`/`to` bound the intents' time; completions are looked for
   * at any time. A completion becomes searchable after its index refreshes (the template's
   * refresh_interval), so a request that just finished may show until then. At most `limit`
   * (default 1000) intents are returned.
   *
   * @example
   * const open = await reader.unfinishedIntents({ from: Date.now() - 86_400_000 });
   * for (const e of open) console.log(e.event_id, e.action, e.actor_id);
   */
  async unfinishedIntents(
    filter: Pick<EventFilter, 'from' | 'to'> = {},
    opts: { limit?: number } = {},
  ): Promise<Record<string, unknown>[]> {
    const limit = opts.limit ?? 1000;
    if (!Number.isInteger(limit) || limit < 1 || limit > 100_000)
      invalid('reader intents limit must be an integer from 1 to 100000');
    await this.#checkTenantField();
    const out: Record<string, unknown>[] = [];
    let after: unknown[] | undefined;
    for (;;) {
      const res = await this.#client.search({
        ...this.#scope(),
        body: {
          size: INTENT_PAGE,
          query: {
            bool: {
              filter: [
                { term: { organization_id: this.organizationId } },
                { term: { phase: 'received' } },
                ...filterClauses({ from: filter.from, to: filter.to }),
              ],
            },
          },
          sort: [{ occurred_at: 'asc' }, { event_id: 'asc' }],
          ...(after !== undefined && { search_after: after }),
        },
      } as never);
      const hits = (res.body as { hits: { hits: { _source: Record<string, unknown>; sort: unknown[] }[] } })
        .hits.hits;
      if (hits.length === 0) return out;
      const ids = hits.map((h) => String(h._source.event_id));
      const done = await this.#completed(ids);
      for (const h of hits) {
        if (done.has(String(h._source.event_id))) continue;
        out.push(h._source);
        if (out.length >= limit) return out;
      }
      if (hits.length < INTENT_PAGE) return out;
      after = hits.at(-1)?.sort;
    }
  }

  /** Which of these intents a stored completion names. */
  async #completed(ids: string[]): Promise<Set<string>> {
    const res = await this.#client.search({
      ...this.#scope(),
      body: {
        size: ids.length,
        _source: ['intent_id'],
        query: {
          bool: {
            filter: [{ term: { organization_id: this.organizationId } }, { terms: { intent_id: ids } }],
          },
        },
      },
    } as never);
    const hits = (res.body as { hits: { hits: { _source: { intent_id?: string } }[] } }).hits.hits;
    return new Set(hits.map((h) => String(h._source.intent_id)));
  }

  /** Closes the client this reader made; a client passed in `ReaderOptions.client` stays open. */
  async close(): Promise<void> {
    if (this.#ownsClient) await this.#client.close();
  }
}

/**
 * A reader bound to one organization. Options and AUDIT_* variables are resolved as for
 * createAudit(); OpenSearch must be configured.
 *
 * @example
 * const reader = createReader({ organizationId: 'org-42' });
 * const page = await reader.search({ action: 'policies.update', from: '2026-11-01' }, { size: 50 });
 */
export function createReader(options: ReaderOptions): AuditReader {
  const { organizationId, allServices = true, client, ...rest } = options;
  if (
    typeof organizationId !== 'string' ||
    organizationId.length === 0 ||
    organizationId.length > MAX_VALUE
  ) {
    invalid(`reader organizationId must be a non-empty string of at most ${MAX_VALUE} characters`);
  }
  const config = resolveConfig(rest);
  warnIfInsecure(config.opensearch, config.environment);
  if (!client && !config.opensearch.url)
    invalid(
      'a reader needs OpenSearch: set AUDIT_OPENSEARCH_URL (or AUDIT_OPENSEARCH_HOST), or opensearch.url',
    );
  const index = allServices
    ? eventIndices(`${config.indexPrefix}-*`, config.indexPrefix)
    : `${config.indexPrefix}-${config.serviceName}-*`;
  return new AuditReader(
    client ?? createClient(config.opensearch),
    index,
    organizationId,
    client === undefined,
    checkpointPattern(config.indexPrefix),
  );
}
