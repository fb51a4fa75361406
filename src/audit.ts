// The main-thread side of the pipeline: the Audit object the adapters capture into. It owns the
// rings (one per worker shard), the piscina pool that drains them, the metrics and the accounting.

import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { register as defaultRegistry, type Registry } from 'prom-client';
import { compileExcludedPaths } from './capture/excluded-paths.js';
import {
  type AuditConfig,
  type AuditOptions,
  captureDisabled,
  describeConfig,
  resolveConfig,
} from './config/resolve.js';
import { type BreakerState, createBreakerBuffer } from './delivery/breaker.js';
import { AuditError } from './errors.js';
import { BodyKind, type CapturedEvent, EventEncoder } from './event.js';
import { createRingBuffer, createStatsBuffer, ringCapacity, Stat, WRITE_LATENCY_BUCKETS } from './layout.js';
import { type AuditLogger, defaultLogger } from './logger.js';
import { Histogram, HOT_PATH_BUCKETS, registerMetrics } from './metrics/registry.js';
import { addRows, readRow } from './metrics/stat-row.js';
import { warnIfInsecure } from './opensearch/client.js';
import { RingProducer, WriteResult } from './ring/producer.js';
import type { DrainTask, WorkerMessage } from './worker/task.js';

export interface CreateAuditOptions extends AuditOptions {
  /** prom-client registry for the metrics; the default registry when omitted. */
  registry?: Registry;
  /** pino-style logger (`info(fields, msg)`); JSON lines on stderr when omitted. */
  logger?: AuditLogger;
}

/**
 * The accounting snapshot of this process's events, exact at any moment:
 * captured = indexed + deadLettered + dropped.total + spooled + inFlight.
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
}

/** Drop reasons counted on the main thread. */
type MainDrop = 'ring_full' | 'too_large' | 'encode_error' | 'closed';

function workerFile(): string {
  // From dist/src/audit.js the worker is dist/workers/drain.js. Run from source (tests, tsx), the
  // worker still runs compiled code: worker threads do not inherit a TypeScript loader.
  const here = import.meta.url;
  const url = here.endsWith('.ts')
    ? new URL('../dist/workers/drain.js', here)
    : new URL('./worker/drain.js', here);
  const file = fileURLToPath(url);
  if (!existsSync(file))
    throw new AuditError('AUDIT_ERR_WORKER_FILE', `worker file ${file} is missing; run npm run build`);
  return file;
}

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

export class Audit {
  readonly config: AuditConfig;
  readonly registry: Registry;
  /** False when AUDIT_ENABLED=false or AUDIT_EXCLUDED_PATHS=/*: the adapters then only call next(). */
  readonly active: boolean;
  /** The compiled AUDIT_EXCLUDED_PATHS matcher. */
  readonly isExcluded: (path: string) => boolean;
  readonly #log: AuditLogger;
  readonly #encoder = new EventEncoder();
  readonly #producers: RingProducer[] = [];
  readonly #stats: SharedArrayBuffer;
  readonly #breaker = createBreakerBuffer();
  readonly #createdAt = Date.now();
  #signalHandler: ((signal: NodeJS.Signals) => void) | undefined;
  readonly #hotPath = new Histogram(HOT_PATH_BUCKETS);
  readonly #drops: Record<MainDrop, number> = { ring_full: 0, too_large: 0, encode_error: 0, closed: 0 };
  readonly #errors: Record<string, number> = { capture: 0 };
  #pool: Piscina | undefined;
  #unregister: () => void = () => undefined;
  #captured = 0;
  #seq = 0;
  #alive = 0;
  #restarts = 0;
  #closing: Promise<AuditStats> | undefined;
  #destroyed = false;

  /** Use createAudit(). */
  constructor(config: AuditConfig, registry: Registry, logger: AuditLogger) {
    this.config = config;
    this.registry = registry;
    this.#log = logger;
    this.active = !captureDisabled(config);
    this.isExcluded = compileExcludedPaths(config.excludedPaths);
    const shards = config.workers;
    this.#stats = createStatsBuffer(shards);
    // The producer's drop limit; worker/drain.ts divides the queue the same way.
    const maxPerShard = Math.max(1, Math.floor(config.maxQueueSize / shards));
    if (this.active) {
      const capacity = ringCapacity(Math.floor(config.ringBytes / shards));
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
      workers: () => ({ alive: this.#alive, restarts: this.#restarts }),
      breakerState: () => Atomics.load(new Int32Array(this.#breaker), 0),
      spoolBytes: () => this.#workerTotals()[Stat.SPOOL_BYTES] ?? 0,
      worker: () => {
        const t = this.#workerTotals();
        return {
          indexed: t[Stat.INDEXED] as number,
          deadLettered: t[Stat.DEAD_LETTERED] as number,
          spooled: t[Stat.SPOOLED] as number,
          replayed: t[Stat.REPLAYED] as number,
          recovered: t[Stat.RECOVERED] as number,
          bulkOk: t[Stat.BULK_OK] as number,
          bulkFailed: t[Stat.BULK_FAILED] as number,
          retries: t[Stat.RETRIES] as number,
        };
      },
      writeLatency: () => {
        const t = this.#workerTotals();
        return {
          bounds: WRITE_LATENCY_BUCKETS,
          perBucket: t.slice(Stat.WRITE_LATENCY_BUCKETS),
          sum: (t[Stat.WRITE_LATENCY_SUM_MICROS] as number) / 1e6,
          count: t[Stat.WRITE_LATENCY_COUNT] as number,
        };
      },
    });
    if (!this.active) {
      this.#log.info(
        { enabled: this.config.enabled, excludedPaths: this.config.excludedPaths },
        'Audit system disabled',
      );
      return;
    }
    this.#pool = new Piscina({
      filename: workerFile(),
      minThreads: this.config.workers,
      maxThreads: this.config.workers,
      concurrentTasksPerWorker: 1,
      idleTimeout: Number.POSITIVE_INFINITY,
    });
    const instance = randomBytes(6);
    for (let shard = 0; shard < this.config.workers; shard++) this.#startShard(shard, instance);
    if (this.config.handleSignals) this.#handleSignals();
    this.#log.info(describeConfig(this.config), 'Audit system initialized');
  }

  #startShard(shard: number, instance: Uint8Array): void {
    const pool = this.#pool;
    const producer = this.#producers[shard];
    if (!pool || !producer) return;
    const { port1, port2 } = new MessageChannel();
    port1.on('message', (m: WorkerMessage) => {
      if (m.type === 'log') this.#log[m.level](m.fields ?? {}, m.msg);
    });
    const task: DrainTask = {
      shard,
      ring: producer.buffer,
      stats: this.#stats,
      config: this.config,
      breaker: this.#breaker,
      createdAt: this.#createdAt,
      instance,
      host: hostname(),
      port: port2,
    };
    this.#alive++;
    pool.run(task, { transferList: [port2] as never }).then(
      () => {
        this.#alive--;
        port1.close();
      },
      (err: Error) => {
        this.#alive--;
        port1.close();
        if (this.#destroyed) return;
        // piscina replaces the dead thread; we hand the shard to it, and the new drain re-reads
        // every frame the dead one had not released.
        this.#restarts++;
        this.#log.error({ shard, error: err.message }, 'Audit worker died; restarting it');
        setTimeout(() => this.#startShard(shard, instance), 50).unref();
      },
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
    let bytes: Uint8Array;
    try {
      bytes = this.#encoder.encode(event);
    } catch (err) {
      if (event.bodyKind === BodyKind.NONE) throw err;
      bytes = this.#encoder.encode(withoutBody(event, 'body could not be encoded'));
    }
    return producer.write(bytes);
  }

  /** @internal Counts an error of audit code that the adapters caught (never the app's). */
  countError(reason: string): void {
    this.#errors[reason] = (this.#errors[reason] ?? 0) + 1;
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
      const [row, pending] = producer.consistent(
        () => [readRow(this.#stats, shard), producer.pendingEvents()] as const,
      );
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
    };
    return {
      captured: this.#captured,
      indexed: at(Stat.INDEXED),
      deadLettered: at(Stat.DEAD_LETTERED),
      dropped: { total: Object.values(byReason).reduce((a, b) => a + b, 0), byReason },
      spooled: at(Stat.SPOOLED) - at(Stat.UNSPOOLED),
      inFlight,
      recovered: at(Stat.RECOVERED),
    };
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

  /** SIGTERM/SIGINT: close() (drain to OpenSearch or the spool), then let the signal end the process. */
  #handleSignals(): void {
    const handler = (signal: NodeJS.Signals) => {
      this.#log.info({ signal }, 'Audit draining before exit');
      const exit = () => {
        process.removeListener('SIGTERM', handler);
        process.removeListener('SIGINT', handler);
        // Other listeners may keep the process alive on purpose; with none, the default action
        // (exit) applies again.
        if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
      };
      this.close().then(exit, (err: Error) => {
        this.#log.error({ error: err.message }, 'Audit drain before exit failed');
        exit();
      });
    };
    this.#signalHandler = handler;
    process.once('SIGTERM', handler);
    process.once('SIGINT', handler);
  }

  /** @internal The pool's threads, for fault-injection tests (terminate one mid-batch). */
  workerThreads(): readonly { terminate(): Promise<number> }[] {
    return (this.#pool?.threads ?? []) as never;
  }

  /** @internal The shared circuit breaker's state: 0 closed, 1 open, 2 half open. */
  breakerState(): BreakerState {
    return Atomics.load(new Int32Array(this.#breaker), 0) as BreakerState;
  }

  async #close(timeoutMs: number): Promise<AuditStats> {
    const deadline = Date.now() + timeoutMs;
    if (this.#signalHandler) {
      process.removeListener('SIGTERM', this.#signalHandler);
      process.removeListener('SIGINT', this.#signalHandler);
    }
    for (const p of this.#producers) p.close();
    while (this.#alive > 0 && Date.now() < deadline) await sleep(10);
    const left = this.stats().inFlight;
    this.#destroyed = true;
    await this.#pool?.destroy();
    this.#unregister();
    const final = this.stats();
    if (left > 0 || this.#alive > 0) {
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
