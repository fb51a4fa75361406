// The main-thread side of the pipeline: the Audit object the adapters capture into. It owns the
// rings (one per worker shard), the piscina pool that drains them, the metrics and the accounting.

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { register as defaultRegistry, type Registry } from 'prom-client';
import type { RefusalReason } from './capture/durable.js';
import { EventEncoder } from './capture/encoder.js';
import { compileExcludedPaths } from './capture/excluded-paths.js';
import type { AuditConfig, AuditOptions } from './config/options.js';
import { captureDisabled, describeConfig, resolveConfig } from './config/resolve.js';
import { type BreakerState, createBreakerBuffer } from './delivery/breaker.js';
import { AuditError } from './errors.js';
import { BodyKind, type CapturedEvent } from './event.js';
import {
  createChainHeadsBuffer,
  createDurabilityBuffer,
  createRingBuffer,
  createStatsBuffer,
  Durability,
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
import { eventId } from './worker/document.js';
import { DrainPool } from './worker/pool.js';
import type { DurableMessage } from './worker/task.js';

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

/** While refusals continue, the warning about them is logged at most this often. */
const REFUSAL_WARNING_EVERY_MS = 60_000;

/** The refusal reason of each Durability value a worker publishes (KEEPS is no refusal). */
const DURABILITY_REASONS: Record<number, RefusalReason> = {
  [Durability.SPOOL_FULL]: 'spool_full',
  [Durability.SPOOL_ERROR]: 'spool_error',
  [Durability.UNKNOWN]: 'starting',
};

/** What a durable route's intent came to: its event id once durable, else why the request is refused. */
export type IntentOutcome = { id: string; refused?: undefined } | { id?: string; refused: RefusalReason };

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
  /** The compiled AUDIT_DURABLE_PATHS matcher; undefined when none is set. */
  readonly isDurable: ((path: string) => boolean) | undefined;
  /** AUDIT_FAILURE_MODE=closed: the adapters ask admission() before each request. */
  readonly failClosed: boolean;
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
  readonly #refused: Record<RefusalReason, number> = {
    ring_full: 0,
    spool_full: 0,
    spool_error: 0,
    starting: 0,
    closed: 0,
    durable_timeout: 0,
    intent_lost: 0,
  };
  #refusalWarnedAt = Number.NEGATIVE_INFINITY;
  #refusalsUnlogged = 0;
  /** AUDIT_FAILURE_MODE=closed: each shard's Durability, written by its worker (layout.ts). */
  readonly #durabilityBuffer: SharedArrayBuffer | undefined;
  readonly #durability: Int32Array | undefined;
  /** Free ring bytes a closed-mode request needs to be let in: room for a typical event and more. */
  readonly #admitBytes: number;
  /** Durable routes' intents waiting for their worker's word, by event id. */
  readonly #intents = new Map<string, (kept: boolean) => void>();
  readonly #instance = randomBytes(6);
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
    this.isDurable = config.durablePaths.length > 0 ? compileExcludedPaths(config.durablePaths) : undefined;
    this.failClosed = config.failureMode === 'closed';
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
    if (config.failureMode === 'closed') {
      this.#durabilityBuffer = createDurabilityBuffer(shards);
      this.#durability = new Int32Array(this.#durabilityBuffer);
    }
    this.#admitBytes = Math.min(Math.floor(capacity / 8), 64 * 1024);
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
      refused: () => this.#refused,
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
    const pool = new DrainPool(this.config.workers, this.#log, (m) => this.#onDurable(m));
    this.#pool = pool;
    const instance = this.#instance;
    const chainHeads = createChainHeadsBuffer(this.config.workers);
    this.#producers.forEach((producer, shard) => {
      pool.start({
        shard,
        ring: producer.buffer,
        stats: this.#stats,
        chainHeads,
        config: this.config,
        breaker: this.#breaker,
        durability: this.#durabilityBuffer,
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
   * @internal AUDIT_FAILURE_MODE=closed, before a request's handler runs: why its event could not
   * be kept now (the ring without room, or no durable path: OpenSearch not taking events and the
   * spool full or unwritable), or undefined when it can. Reads a few shared words; never waits.
   */
  admission(): RefusalReason | undefined {
    if (this.#closing || this.#producers.length === 0) return 'closed';
    const durability = this.#durability;
    for (let shard = 0; shard < this.#producers.length; shard++) {
      if (!(this.#producers[shard] as RingProducer).hasRoom(this.#admitBytes)) return 'ring_full';
      const d = durability === undefined ? Durability.KEEPS : Atomics.load(durability, shard);
      if (d !== Durability.KEEPS) return DURABILITY_REASONS[d] ?? 'starting';
    }
    return undefined;
  }

  /**
   * @internal Counts a request answered 503 before its handler ran, and logs it: the first at once,
   * then one line a minute while they continue. Returns the Retry-After seconds to answer with.
   */
  refuse(reason: RefusalReason): number {
    this.#refused[reason]++;
    this.#refusalsUnlogged++;
    const now = Date.now();
    if (now - this.#refusalWarnedAt >= REFUSAL_WARNING_EVERY_MS) {
      this.#refusalWarnedAt = now;
      const requests = this.#refusalsUnlogged;
      this.#refusalsUnlogged = 0;
      try {
        this.#log.warn(
          { reason, requests, refused: { ...this.#refused } },
          'Audit refused requests (503) before their handlers ran: their events could not be kept',
        );
      } catch {
        // counted above; a logger that throws does not reach the request
      }
    }
    // No durable path: OpenSearch is asked again after the breaker's cooldown at the latest.
    return reason === 'spool_full' || reason === 'spool_error'
      ? Math.max(1, Math.ceil(Math.min(this.config.breakerCooldownSeconds, 60)))
      : 1;
  }

  /**
   * @internal Records the intent of a durable route and resolves once it is durable (acknowledged
   * by OpenSearch or synced in the spool) with its event id, or with why the request must be
   * refused: not queued, lost, or not durable within AUDIT_DURABLE_TIMEOUT_MS. Never rejects, and
   * never blocks the thread while it waits: the worker's report arrives as a message.
   */
  intent(event: CapturedEvent): { id: string | undefined; outcome: Promise<IntentOutcome> } {
    const seq = this.#seq;
    const drops = this.#drops;
    const fullBefore = drops.ring_full;
    const lostBefore = drops.too_large + drops.encode_error;
    this.capture(event);
    const refused = (reason: RefusalReason) => ({
      id: undefined,
      outcome: Promise.resolve<IntentOutcome>({ refused: reason }),
    });
    // capture() takes the sequence number, unless the audit is closed (nothing written then).
    if (this.#seq === seq) return refused('closed');
    if (drops.ring_full !== fullBefore) return refused('ring_full');
    if (drops.too_large + drops.encode_error !== lostBefore) return refused('intent_lost');
    // Known as soon as the intent is queued: the request's own event names it even if the request
    // ends (a client gone, a refusal) before the worker's word comes.
    const id = eventId(event.ts, seq, this.#instance);
    const outcome = new Promise<IntentOutcome>((resolve) => {
      const timer = setTimeout(() => {
        this.#intents.delete(id);
        resolve({ id, refused: 'durable_timeout' });
      }, this.config.durableTimeoutMs);
      // The waiting request holds the process open; this timer need not.
      timer.unref();
      this.#intents.set(id, (kept) => {
        clearTimeout(timer);
        this.#intents.delete(id);
        resolve(kept ? { id } : { id, refused: 'intent_lost' });
      });
    });
    return { id, outcome };
  }

  #onDurable(m: DurableMessage): void {
    for (const id of m.kept) this.#intents.get(id)?.(true);
    for (const id of m.lost) this.#intents.get(id)?.(false);
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
    // An intent whose worker's word never came (the pool stopped first): its request is refused.
    for (const settle of [...this.#intents.values()]) settle(false);
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
