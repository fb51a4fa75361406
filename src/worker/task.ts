// The contract between the main thread and the drain workers: the task each worker runs and the
// messages it sends back. The shared-memory side of the contract is in src/layout.ts.
import type { MessagePort } from 'node:worker_threads';
import type { AuditConfig } from '../config/options.js';

export interface DrainTask {
  shard: number;
  ring: SharedArrayBuffer;
  stats: SharedArrayBuffer;
  /** Where each shard's hash chains stand as of its last commit (layout.ts, ChainHeads). */
  chainHeads: SharedArrayBuffer;
  /** The circuit breaker all workers share (src/delivery/breaker.ts). */
  breaker: SharedArrayBuffer;
  /** Date.now() when the Audit was created: the breaker's time base. */
  createdAt: number;
  config: AuditConfig;
  /**
   * With AUDIT_FAILURE_MODE=closed, where this shard says whether it has a durable path for new
   * events (layout.ts, Durability); undefined in open mode.
   */
  durability?: SharedArrayBuffer;
  /** Process part of every event id (6 random bytes). */
  instance: Uint8Array;
  host: string;
  /** Where the worker sends log lines; the main thread writes them through the app's logger. */
  port: MessagePort;
}

export interface LogMessage {
  type: 'log';
  level: 'info' | 'warn' | 'error';
  msg: string;
  fields?: Record<string, unknown>;
}

/**
 * The intents (events of phase `received`, by event id) of one commit: `kept` are acknowledged by
 * OpenSearch or synced in the spool, `lost` are not (dropped or refused, each counted).
 */
export interface DurableMessage {
  type: 'durable';
  kept: string[];
  lost: string[];
}

export type WorkerMessage = LogMessage | DurableMessage;
