// Delivers a batch of documents to OpenSearch `_bulk`, reading every item: 201 and 409 (already
// indexed: our ids are deterministic) count as indexed; 429, 5xx, rejected executions and write
// blocks are retried alone with exponential backoff and full jitter; any other item error is a
// dead letter, written with its reason and never retried. A request that fails as a whole is
// retried whole. Every attempt asks the shared circuit breaker first.

import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@opensearch-project/opensearch';
import type { AuditConfig } from '../config/options.js';
import { Stat } from '../layout.js';
import type { StatRow } from '../metrics/stat-row.js';
import { type BulkItemResult, gzipBody, ndjson, postBulk } from '../opensearch/bulk.js';
import {
  type Explanation,
  explainFailure,
  explainFailureChecked,
  explainRefusedItems,
} from '../opensearch/explain.js';
import { ensureIndex, ensureTemplate } from '../opensearch/setup.js';
import { templateName } from '../opensearch/template.js';
import type { AuditDocument } from '../worker/document.js';
import { type Breaker, BreakerState } from './breaker.js';
import { appendDeadLetters } from './dead-letters.js';

export interface Delivery {
  indexed: number;
  deadLettered: number;
  /**
   * Refused for good, but the dead-letter file could not be written (a full or read-only disk):
   * dropped with reason dead_letter_error. Retrying them would fail the same way forever.
   */
  deadLetterLost: number;
  /** The documents of deadLettered and deadLetterLost: refused for good (their chain positions stay empty). */
  refused?: AuditDocument[];
  /**
   * Documents not delivered: still failing with a retriable error when the attempts ran out, never
   * sent because the circuit breaker is open, or abandoned. The caller spools them.
   */
  failed: AuditDocument[];
  lastError?: string;
}

export type Log = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

/** Errors that say "not now" rather than "never": the item waits (retry, then spool). */
const TRANSIENT_ERRORS = new Set([
  'es_rejected_execution_exception',
  // index.blocks.write, or the read-only block OpenSearch sets when the disk is nearly full
  'cluster_block_exception',
  'index_closed_exception',
]);

export function isRetriable(item: BulkItemResult): boolean {
  return item.status === 429 || item.status >= 500 || TRANSIENT_ERRORS.has(item.error?.type ?? '');
}

export function backoffMs(
  attempt: number,
  cfg: Pick<AuditConfig, 'retryBackoffSeconds' | 'retryBackoffMultiplier'>,
) {
  const cap = cfg.retryBackoffSeconds * cfg.retryBackoffMultiplier ** (attempt - 1) * 1000;
  return Math.random() * cap;
}

/** Waits for `work`; true when it finished, false when `signal` aborted first (`work` goes on alone). */
async function untilAborted(work: Promise<void>, signal: AbortSignal | undefined): Promise<boolean> {
  if (!signal) {
    await work;
    return true;
  }
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<false>((resolve) => {
    onAbort = () => resolve(false);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  const done = work.then(() => true as const);
  // Abandoned, a later failure of `work` has nobody to tell: it must not be an unhandled rejection
  // (which ends a worker thread). Before the abort it still reaches the caller through the race.
  done.catch(() => undefined);
  try {
    if (signal.aborted) return false;
    return await Promise.race([done, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort as () => void);
  }
}

export class BulkSink {
  readonly #known = new Set<string>();
  /**
   * The cause of failure last logged (explainFailure's `cause`): a cause is logged once, not per
   * batch, and again only after it changed or the breaker closed meanwhile.
   */
  #reported: string | undefined;
  /** This sink last saw the breaker open or half open; seeing it closed again forgets #reported. */
  #sawOpen = false;

  constructor(
    readonly client: Client,
    readonly cfg: AuditConfig,
    readonly stats: StatRow,
    readonly log: Log,
    readonly breaker: Breaker,
  ) {}

  /** A failed bulk attempt, for the breaker; the first opening of an outage is logged with its cause. */
  #failure(why: Explanation): void {
    const before = this.breaker.state;
    // A failed probe re-opens a half-open breaker: the same outage, already said (a new cause was
    // logged by #report before this).
    if (this.breaker.failure() !== 'opened' || before !== BreakerState.CLOSED) return;
    this.#reported = why.cause;
    this.#sawOpen = true;
    this.log('warn', 'Circuit breaker open: events are being spooled', {
      error: why.message,
      cause: why.cause,
      spoolDir: this.cfg.spoolDir,
    });
  }

  #success(): void {
    if (this.breaker.success() !== 'closed') return;
    this.#reported = undefined;
    this.#sawOpen = false;
    this.log('info', 'Circuit breaker closed');
  }

  /** Another worker closed the breaker since this one saw it open: a later failure is news again. */
  #observeBreaker(): void {
    const open = this.breaker.state !== BreakerState.CLOSED;
    if (this.#sawOpen && !open) this.#reported = undefined;
    this.#sawOpen = open;
  }

  /**
   * Explains a failed request and logs it unless this cause is the one already logged; returns the
   * explanation either way. `step` names what failed (`during`, and the template or index).
   */
  async #report(err: unknown, step: Record<string, string>): Promise<Explanation> {
    const why = explainFailure(err, this.cfg.opensearch);
    if (why.cause === this.#reported) return why;
    this.#reported = why.cause;
    // Only for a new cause: it may probe the port once (a plain-http request to a TLS port).
    const checked = await explainFailureChecked(err, this.cfg.opensearch);
    this.log('warn', 'OpenSearch request failed', { error: checked.message, cause: checked.cause, ...step });
    return checked;
  }

  /** The same for a bulk answer whose every item must be retried. */
  #reportItems(why: Explanation): void {
    if (why.cause === this.#reported) return;
    this.#reported = why.cause;
    this.log('warn', 'OpenSearch request failed', { error: why.message, cause: why.cause, during: 'bulk' });
  }

  /**
   * Sends `docs` with up to AUDIT_RETRY_ATTEMPTS retries, asking the shared breaker before every
   * attempt; stops early (returning the rest as failed) as soon as the breaker is open, or when
   * `signal` aborts: then the request in flight or the backoff is given up at once. An abandoned
   * request is not the cluster's failure and does not count for the breaker.
   */
  async deliver(
    docs: AuditDocument[],
    opts: { retries?: number; signal?: AbortSignal } = {},
  ): Promise<Delivery> {
    const { signal } = opts;
    const retries = opts.retries ?? this.cfg.retryAttempts;
    let pending = docs;
    let indexed = 0;
    let deadLettered = 0;
    let deadLetterLost = 0;
    const refused: AuditDocument[] = [];
    let lastError: string | undefined;
    this.#observeBreaker();
    for (let attempt = 0; attempt <= retries && pending.length > 0; attempt++) {
      if (attempt > 0) {
        if (this.breaker.state !== BreakerState.CLOSED) break;
        this.stats.add(Stat.RETRIES, 1);
        await sleep(backoffMs(attempt, this.cfg), undefined, { signal }).catch(() => undefined);
      }
      if (signal?.aborted) break;
      if (!this.breaker.allow()) {
        lastError ??= 'circuit breaker open';
        break;
      }
      // The template and index checks are not abortable requests: a held answer is left to finish
      // on its own (they are idempotent) while this delivery gives up.
      if (!(await untilAborted(this.#ensureIndices(pending), signal))) {
        this.stats.add(Stat.BULK_ABANDONED, 1);
        break;
      }
      const started = performance.now();
      let items: BulkItemResult[];
      try {
        items = (
          await postBulk(this.client, gzipBody(ndjson(pending)), {
            requestTimeoutMs: this.cfg.opensearch.timeoutSeconds * 1000,
            ...(signal && { signal }),
          })
        ).items;
      } catch (err) {
        if (signal?.aborted) {
          this.stats.add(Stat.BULK_ABANDONED, 1);
          break;
        }
        this.stats.add(Stat.BULK_FAILED, 1);
        const why = await this.#report(err, { during: 'bulk' });
        lastError = why.message;
        this.#failure(why);
        continue;
      }
      this.stats.observeWriteLatency((performance.now() - started) / 1000);
      this.stats.add(Stat.BULK_OK, 1);
      const retry: AuditDocument[] = [];
      const dead: Array<[AuditDocument, BulkItemResult]> = [];
      items.forEach((item, i) => {
        const doc = pending[i] as AuditDocument;
        if (item.status === 200 || item.status === 201 || item.status === 409) indexed++;
        else if (isRetriable(item)) retry.push(doc);
        else dead.push([doc, item]);
      });
      if (dead.length > 0) {
        for (const [doc] of dead) refused.push(doc);
        if (await this.#deadLetter(dead)) deadLettered += dead.length;
        else deadLetterLost += dead.length;
      }
      if (retry.length > 0) lastError = `${retry.length} items answered ${items.find(isRetriable)?.status}`;
      // A request whose every item must be retried (429 storm, blocked writes) is a failure for the
      // breaker: sustained, it opens and the batches go to the spool instead of hammering the cluster.
      if (retry.length > 0 && retry.length === items.length) {
        const first = items.find(isRetriable) as BulkItemResult;
        const why = explainRefusedItems(first.status, first.error);
        this.#reportItems(why);
        this.#failure(why);
      } else this.#success();
      pending = retry;
    }
    if (signal?.aborted && pending.length > 0)
      lastError = 'abandoned: the ring was filling, or an intent could not wait';
    return {
      indexed,
      deadLettered,
      deadLetterLost,
      ...(refused.length > 0 && { refused }),
      failed: pending,
      ...(lastError !== undefined && { lastError }),
    };
  }

  /**
   * Before the first write to an index this worker has not seen: installs the template if it is
   * missing (AUDIT_INSTALL_TEMPLATE), then creates the index with the audit mapping unless it
   * exists, so no audit index is ever created by dynamic mapping (organization_id as text would
   * let a reader of one organization see others).
   */
  async #ensureIndices(docs: AuditDocument[]): Promise<void> {
    for (const doc of docs) {
      if (this.#known.has(doc.index)) continue;
      if (this.cfg.installTemplate) {
        const template = templateName(this.cfg.indexPrefix);
        try {
          const outcome = await ensureTemplate(
            this.client,
            { prefix: this.cfg.indexPrefix, shards: this.cfg.indexShards, replicas: this.cfg.indexReplicas },
            // To the app's logger, not stderr: this runs in a worker thread.
            (message, fields) => this.log('warn', message, fields),
          );
          if (outcome === 'installed') this.log('info', 'Index template installed', { template });
        } catch (err) {
          // Forbidden: the operator installs the template with the CLI, and we must not stop
          // writing because we may not install it; the index below still gets the mapping.
          await this.#report(err, { during: 'template check', template });
        }
      }
      try {
        if ((await ensureIndex(this.client, doc.index)) === 'created')
          this.log('info', 'Audit index created', { index: doc.index });
      } catch (err) {
        // Unreachable, or not allowed to create indices: then _bulk cannot create it either, and
        // the batch is retried or spooled. Ask again before the next attempt.
        await this.#report(err, { during: 'index check', index: doc.index });
        return;
      }
      this.#known.add(doc.index);
    }
  }

  /** Keeps refused documents in the dead-letter file; false when the file cannot be written. */
  async #deadLetter(dead: Array<[AuditDocument, BulkItemResult]>): Promise<boolean> {
    try {
      await appendDeadLetters(this.cfg.spoolDir, dead);
    } catch (err) {
      this.log('error', 'Dead-letter write failed: events dropped', {
        count: dead.length,
        error: (err as Error).message,
      });
      return false;
    }
    this.log('warn', 'Events dead-lettered', { count: dead.length, status: dead[0]?.[1].status });
    return true;
  }
}
