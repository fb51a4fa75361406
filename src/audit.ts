// The main-thread side of the pipeline: the Audit object the adapters capture into. It owns the
// rings (one per worker shard), the piscina pool that drains them, the metrics and the accounting.

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { register as defaultRegistry, type Registry } from 'prom-client';
import { EventEncoder } from './capture/encoder.js';
import { compileExcludedPaths } from './capture/excluded-paths.js';
import type { AuditConfig, AuditOptions } from './config/options.js';
import { captureDisabled, describeConfig, resolveConfig } from './config/resolve.js';
import { type BreakerState, createBreakerBuffer } from './delivery/breaker.js';
import { AuditError } from './errors.js';
import { BodyKind, type CapturedEvent } from './event.js';
import {
  createChainHeadsBuffer,
  createRingBuffer,
  createStatsBuffer,
  eventsPerShard,
  maxFrameBytes,
  ringCapacity,
  Stat,
} from './layout.js';
import { type AuditLogger, defaultLogger } from './logger.js';
import { Histogram, HOT_PATH_BUCKETS, registerMetrics } from './metrics/registry.js';
import { addRows, readCommitting, readRow } from './metrics/stat-row.js';
import { warnIfInsecure } from './opensearch/client.js';
import { Sanitizer } from './redact/sanitizer.js';
import { RingProducer, WriteResult } from './ring/producer.js';
import { drainOnSignals } from './signals.js';
import { DrainPool } from './worker/pool.js';

/**
 * The options of createAudit(): every AuditOptions setting, plus where metrics and logs go.
 *
 * @example
 * const audit = await createAudit({ serviceName: 'api', registry: new Registry(), logger: pino() });
 */
export interface CreateAuditOptions extends AuditOptions {
  /** prom-client registry for the metrics; the default registry when omitted. */
  registry?: Registry;
  /** pino-style logger (`info(fields, msg)`); JSON lines on stderr when omitted. */
  logger?: AuditLogger;
}

/**
 * The accounting snapshot of this process's events, exact at any moment:
 * captured = indexed + deadLettered + dropped.total + spooled + inFlight.
 *
 * @example
 * const { captured, indexed, dropped } = audit.stats();
 * if (dropped.total > 0) console.warn('audit events lost', dropped.byReason);
 */
export interface AuditStats {
  captured: number;
  /** Acknowledged by OpenSearch, directly or on replay from the spool. */
  indexed: number;
  /** Refused by OpenSearch for good; kept in AUDIT_SPOOL_DIR/dead-letter/. */
  deadLettered: number;
  dropped: { total: number; byReason: Record<string, number> };
  /** In the spool on disk now, waiting for replay. */
  spooled: number;
  /** In the ring: captured, not yet indexed, spooled or dropped. */
  inFlight: number;
  /** Events an earlier process left in the spool and this one delivered (outside the sum above). */
  recovered: number;
  /**
   * Requests of which the adapter could not read every part (a `resolve` that threw, a body read
   * that failed): their events are stored with what was known, or dropped as `capture_error`.
   * Outside the sum above; the log says why (`Audit could not read part of a request`).
   */
  captureErrors: number;
}

/** While capture errors continue, the warning about them is logged at most this often. */
const CAPTURE_WARNING_EVERY_MS = 60_000;

/** Drop reasons counted on the main thread. */
type MainDrop = 'ring_full' | 'too_large' | 'encode_error' | 'closed' | 'capture_error';

function shardOf(org: string, shards: number): number {
  let h = 2166136261;
  for (let i = 0; i < org.length; i++) h = Math.imul(h ^ org.charCodeAt(i), 16777619);
  return (h >>> 0) % shards;
}

function withoutBody(event: CapturedEvent, note: string): CapturedEvent {
  event.bodyKind = BodyKind.NOTE;
  event.body = note;
  event.bodyTruncated = true;
  return event;
}

/**
 * The audit pipeline of one process: the middleware captures into it, worker threads deliver
 * from it. Make one with createAudit() at start and close() it at shutdown.
 *
 * @example
 * const audit = await createAudit({ serviceName: 'billing' });
 * app.use(honoAudit(audit));
 * // ... at shutdown, after the server stopped taking requests:
 * const final = await audit.close();
 * console.log(final.indexed, final.spooled, final.dropped.total);
 */
export class Audit {
  readonly config: AuditConfig;
  readonly registry: Registry;
  /** False when AUDIT_ENABLED=false or AUDIT_EXCLUDED_PATHS=/*: the adapters then only call next(). */
  readonly active: boolean;
  /** The compiled AUDIT_EXCLUDED_PATHS matcher. */
  readonly isExcluded: (path: string) => boolean;
  readonly #log: AuditLogger;
  readonly #encoder: EventEncoder;
  readonly #producers: RingProducer[] = [];
  readonly #stats: SharedArrayBuffer;
  readonly #breaker = createBreakerBuffer();
  readonly #createdAt = Date.now();
  #removeSignalHandlers: () => void = () => undefined;
  readonly #hotPath = new Histogram(HOT_PATH_BUCKETS);
  readonly #drops: Record<MainDrop, number> = {
    ring_full: 0,
    too_large: 0,
    encode_error: 0,
    closed: 0,
    capture_error: 0,
  };
  readonly #errors: Record<string, number> = { capture: 0 };
  #captureWarnedAt = Number.NEGATIVE_INFINITY;
  #captureErrorsUnlogged = 0;
  #redactor: Sanitizer | undefined;
  #pool: DrainPool | undefined;
  #unregister: () => void = () => undefined;
  #captured = 0;
  #seq = 0;
  #closing: Promise<AuditStats> | undefined;

  /** Use createAudit(). */
  constructor(config: AuditConfig, registry: Registry, logger: AuditLogger) {
    this.config = config;
    this.registry = registry;
    this.#log = logger;
    this.active = !captureDisabled(config);
    this.isExcluded = compileExcludedPaths(config.excludedPaths);
    const shards = config.workers;
    this.#stats = createStatsBuffer(shards);
    const maxPerShard = eventsPerShard(config.maxQueueSize, shards);
    const capacity = ringCapacity(Math.floor(config.ringBytes / shards));
    // A frame larger than the ring takes is refused by the encoder before it is written out whole.
    this.#encoder = new EventEncoder(maxFrameBytes(capacity));
    if (this.active) {
      for (let i = 0; i < shards; i++)
        this.#producers.push(new RingProducer(createRingBuffer(capacity), maxPerShard));
    }
  }

  /** @internal Starts the pool and registers the metrics; createAudit() calls it once. */
  start(): void {
    this.#unregister = registerMetrics(this.registry, {
      captured: () => this.#captured,
      hotPath: this.#hotPath,
      dropped: () => this.stats().dropped.byReason,
      errors: () => {
        const { dropped, deadLettered } = this.stats();
        return { ...dropped.byReason, dead_lettered: deadLettered, ...this.#errors };
      },
      queueSize: () => this.stats().inFlight,
      ringBytes: () => ({
        used: this.#producers.reduce((n, p) => n + p.usedBytes(), 0),
        capacity: this.#producers.reduce((n, p) => n + p.capacity, 0),
      }),
      workers: () => ({ alive: this.#pool?.alive ?? 0, restarts: this.#pool?.restarts ?? 0 }),
      breakerState: () => this.breakerState(),
      workerTotals: () => this.#workerTotals(),
    });
    if (!this.active) {
      this.#log.info(
        { enabled: this.config.enabled, excludedPaths: this.config.excludedPaths },
        'Audit system disabled',
      );
      return;
    }
    const pool = new DrainPool(this.config.workers, this.#log);
    this.#pool = pool;
    const instance = randomBytes(6);
    const chainHeads = createChainHeadsBuffer(this.config.workers);
    this.#producers.forEach((producer, shard) => {
      pool.start({
        shard,
        ring: producer.buffer,
        stats: this.#stats,
        chainHeads,
        config: this.config,
        breaker: this.#breaker,
        createdAt: this.#createdAt,
        instance,
        host: hostname(),
      });
    });
    if (this.config.handleSignals) this.#removeSignalHandlers = drainOnSignals(() => this.close(), this.#log);
    this.#log.info(describeConfig(this.config), 'Audit system initialized');
    if (!this.config.opensearch.url)
      this.#log.info(
        { spoolDir: this.config.spoolDir },
        'No OpenSearch configured: events are kept in the local spool',
      );
  }

  /**
   * Records one event: encode it and copy it into its shard's ring. Never throws and never waits;
   * an event that cannot be queued is dropped and counted with its reason. `startedAt` is the
   * performance.now() at which the adapter began capturing (for audit_events_latency_seconds).
   */
  capture(event: CapturedEvent, startedAt = performance.now()): void {
    this.#captured++;
    if (this.#closing || this.#producers.length === 0) {
      this.#drops.closed++;
      return;
    }
    try {
      event.seq = this.#seq;
      this.#seq = (this.#seq + 1) >>> 0;
      const shards = this.#producers.length;
      const producer = this.#producers[
        shards === 1 ? 0 : shardOf(event.organizationId, shards)
      ] as RingProducer;
      // FULL: the ring's bytes or its share of AUDIT_MAX_QUEUE_SIZE events are taken.
      let result = this.#write(producer, event);
      if (result === WriteResult.TOO_LARGE && event.bodyKind !== BodyKind.NONE) {
        // Keep the event, lose the body: a frame must fit the ring.
        result = this.#write(producer, withoutBody(event, 'body too large for the ring frame'));
      }
      if (result === WriteResult.FULL) this.#drops.ring_full++;
      else if (result === WriteResult.TOO_LARGE) this.#drops.too_large++;
    } catch {
      this.#drops.encode_error++;
    }
    this.#hotPath.observe((performance.now() - startedAt) / 1000);
  }

  /**
   * Encodes and writes; a parsed body that cannot be encoded (a value nested thousands deep
   * overflows the encoder's stack) costs the body, not the event.
   */
  #write(producer: RingProducer, event: CapturedEvent): WriteResult {
    let len: number;
    try {
      len = this.#encoder.frame(event);
    } catch (err) {
      if (event.bodyKind === BodyKind.NONE) throw err;
      len = this.#encoder.frame(withoutBody(event, 'body could not be encoded'));
    }
    return len < 0 ? WriteResult.TOO_LARGE : producer.write(this.#encoder.bytes, len);
  }

  /**
   * @internal Counts a request whose event an adapter could not build or hand over: captured and
   * dropped as `capture_error`, so the stats' sum still holds. `reason` says what failed, for the
   * reader of the call site; every such drop is counted under the one reason.
   */
  // biome-ignore lint/correctness/noUnusedFunctionParameters: the reason names the failure at the call site
  dropUncaptured(reason: string): void {
    this.#captured++;
    this.#drops.capture_error++;
  }

  /**
   * @internal Counts an error of audit code that the adapters caught (never the app's). A capture
   * error (part of a request unreadable, or no event at all) is also logged: the first at once,
   * then one line a minute while they continue, with how many there were and the latest cause.
   */
  countError(reason: string, cause = ''): void {
    this.#errors[reason] = (this.#errors[reason] ?? 0) + 1;
    if (reason !== 'capture') return;
    this.#captureErrorsUnlogged++;
    const now = Date.now();
    if (now - this.#captureWarnedAt < CAPTURE_WARNING_EVERY_MS) return;
    this.#captureWarnedAt = now;
    const requests = this.#captureErrorsUnlogged;
    this.#captureErrorsUnlogged = 0;
    try {
      // The message is the app's or the runtime's (a JSON.parse error quotes its input): it gets
      // the redaction an event gets, and a logger that throws does not reach the request.
      this.#redactor ??= new Sanitizer({
        secretKeys: this.config.redactKeys,
        secretPatterns: this.config.redactPatterns,
      });
      this.#log.warn(
        { cause: this.#redactor.text(cause), requests, total: this.#errors.capture },
        'Audit could not read part of a request; its event is stored with what was known, or dropped and counted (capture_error)',
      );
    } catch {
      // counted above; nothing more to do on the request path
    }
  }

  #workerTotals(): number[] {
    const totals: number[] = [];
    for (let shard = 0; shard < this.config.workers; shard++) addRows(totals, readRow(this.#stats, shard));
    return totals;
  }

  /** The accounting snapshot; consistent per shard even while workers record outcomes. */
  stats(): AuditStats {
    const totals: number[] = [];
    let inFlight = 0;
    this.#producers.forEach((producer, shard) => {
      const [row, pending] = producer.consistent((committing) => {
        if (!committing) return [readRow(this.#stats, shard), producer.pendingEvents()] as const;
        const [after, releasedEvents] = readCommitting(this.#stats, shard);
        return [after, producer.pendingEvents(releasedEvents)] as const;
      });
      addRows(totals, row);
      inFlight += pending;
    });
    const at = (slot: number) => totals[slot] ?? 0;
    const byReason: Record<string, number> = {
      ...this.#drops,
      decode_error: at(Stat.DROPPED_DECODE),
      spool_full: at(Stat.DROPPED_SPOOL_FULL),
      spool_error: at(Stat.DROPPED_SPOOL_ERROR),
      spool_corrupt: at(Stat.DROPPED_SPOOL_CORRUPT),
      dead_letter_error: at(Stat.DROPPED_DEAD_LETTER),
    };
    return {
      captured: this.#captured,
      indexed: at(Stat.INDEXED),
      deadLettered: at(Stat.DEAD_LETTERED),
      dropped: { total: Object.values(byReason).reduce((a, b) => a + b, 0), byReason },
      spooled: at(Stat.SPOOLED) - at(Stat.UNSPOOLED),
      inFlight,
      recovered: at(Stat.RECOVERED),
      captureErrors: this.#errors.capture ?? 0,
    };
  }

  /** @internal The most re-reads one stats() snapshot of a shard needed (see RingProducer.consistent). */
  statsRetries(): number {
    return Math.max(0, ...this.#producers.map((p) => p.mostRetries));
  }

  /**
   * Stops capturing, lets the workers deliver everything queued, then stops them. Resolves with the
   * final stats when nothing is left in flight; rejects with AUDIT_ERR_CLOSE_TIMEOUT when
   * `timeoutSeconds` (default AUDIT_CLOSE_TIMEOUT_SECONDS) pass first. Calling it again returns the
   * same promise.
   */
  close(opts: { timeoutSeconds?: number } = {}): Promise<AuditStats> {
    this.#closing ??= this.#close((opts.timeoutSeconds ?? this.config.closeTimeoutSeconds) * 1000);
    return this.#closing;
  }

  /** @internal The pool's threads, for fault-injection tests (terminate one mid-batch). */
  workerThreads(): readonly { terminate(): Promise<number> }[] {
    return this.#pool?.threads ?? [];
  }

  /** @internal The shared circuit breaker's state: 0 closed, 1 open, 2 half open. */
  breakerState(): BreakerState {
    return Atomics.load(new Int32Array(this.#breaker), 0) as BreakerState;
  }

  async #close(timeoutMs: number): Promise<AuditStats> {
    const deadline = Date.now() + timeoutMs;
    this.#removeSignalHandlers();
    for (const p of this.#producers) p.close();
    while ((this.#pool?.busy ?? 0) > 0 && Date.now() < deadline) await sleep(10);
    const left = this.stats().inFlight;
    const alive = this.#pool?.busy ?? 0;
    await this.#pool?.destroy();
    this.#unregister();
    const final = this.stats();
    if (left > 0 || alive > 0) {
      throw new AuditError(
        'AUDIT_ERR_CLOSE_TIMEOUT',
        `close() gave up after ${timeoutMs / 1000} s with ${final.inFlight} events not acknowledged`,
      );
    }
    this.#log.info({ ...final }, 'Audit system closed');
    return final;
  }
}

/**
 * Creates the audit pipeline: validates the options (over the AUDIT_* environment), starts the
 * worker pool and registers the metrics.
 *
 * @example
 * const audit = await createAudit({ serviceName: 'api', opensearch: { host: 'localhost' } });
 * app.use(honoAudit(audit));
 * process.on('SIGTERM', () => audit.close());
 */
export async function createAudit(options: CreateAuditOptions = {}): Promise<Audit> {
  const { registry, logger, ...rest } = options;
  const config = resolveConfig(rest);
  warnIfInsecure(config.opensearch, config.environment);
  const audit = new Audit(config, registry ?? (defaultRegistry as Registry), logger ?? defaultLogger);
  audit.start();
  return audit;
}
