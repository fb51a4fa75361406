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

export type WorkerMessage = LogMessage;
