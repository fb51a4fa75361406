// Worker side of AUDIT_FAILURE_MODE=closed: whether this shard has a durable path for new events,
// published in the durability cell (layout.ts, Durability) that the main thread reads before each
// request. OpenSearch counts while it takes events; the spool counts while its folder is writable
// with room. What the worker last saw of each (a delivery, an append) decides at once; a probe once
// a second finds out when either comes back (the folder freed, the node answering again).
import { constants } from 'node:fs';
import { access, statfs } from 'node:fs/promises';
import type { Client } from '@opensearch-project/opensearch';
import type { Breaker } from '../delivery/breaker.js';
import { Durability } from '../layout.js';

/** How often the probe looks at the spool folder and, when it is not taking events, OpenSearch. */
export const PROBE_MS = 1000;
/** Free bytes the spool needs, on its volume and under AUDIT_SPOOL_MAX_BYTES, to count as room. */
export const SPOOL_ROOM_BYTES = 1024 * 1024;

export interface DurabilityOptions {
  cells: SharedArrayBuffer;
  shard: number;
  spoolDir: string;
  spoolMaxBytes: number;
  /** Bytes in the spool now. */
  spoolBytes: () => number;
  /** The OpenSearch client, when one is configured. */
  client: Client | undefined;
  breaker: Breaker;
  pingTimeoutMs: number;
}

export class DurabilityWatch {
  readonly #o: DurabilityOptions;
  readonly #cells: Int32Array;
  /** undefined until the first probe; then whether OpenSearch took the last request. */
  #opensearch: boolean | undefined;
  #spool: Durability | undefined;
  #nextProbe = 0;

  constructor(o: DurabilityOptions) {
    this.#o = o;
    this.#cells = new Int32Array(o.cells);
    // Without OpenSearch only the spool counts.
    if (!o.client) this.#opensearch = false;
  }

  /** The outcome of a delivery: OpenSearch took part of it (or all), or none of it. */
  delivered(took: boolean): void {
    this.#opensearch = took;
    this.#publish();
  }

  /** The outcome of a spool append: written whole, out of room, or failed. */
  appended(state: Durability): void {
    this.#spool = state;
    this.#publish();
  }

  /** Runs the probe when it is due; cheap otherwise. */
  async maybeProbe(now = Date.now()): Promise<void> {
    if (now < this.#nextProbe) return;
    this.#nextProbe = now + PROBE_MS;
    await this.probe();
  }

  async probe(): Promise<void> {
    const o = this.#o;
    try {
      // EROFS on a read-only mount, EACCES without permission, ENOENT when the folder is gone.
      await access(o.spoolDir, constants.W_OK);
      const fs = await statfs(o.spoolDir);
      const free = Number(fs.bavail) * Number(fs.bsize);
      const room = free >= SPOOL_ROOM_BYTES && o.spoolBytes() + SPOOL_ROOM_BYTES <= o.spoolMaxBytes;
      this.#spool = room ? Durability.KEEPS : Durability.SPOOL_FULL;
    } catch {
      this.#spool = Durability.SPOOL_ERROR;
    }
    // With a spool that keeps events, nobody waits on OpenSearch's answer.
    this.#publish();
    if (!o.client || this.#opensearch === true) return;
    // An open breaker is asked again only once its cooldown passed, as deliveries are.
    if (this.#opensearch === false && !o.breaker.ready()) return;
    try {
      await o.client.ping({}, { requestTimeout: o.pingTimeoutMs, maxRetries: 0 });
      this.#opensearch = true;
    } catch {
      this.#opensearch = false;
    }
    this.#publish();
  }

  /** What the main thread reads: KEEPS while either path keeps events, else why neither does. */
  #publish(): void {
    let value: number;
    if (this.#opensearch === true || this.#spool === Durability.KEEPS) value = Durability.KEEPS;
    else if (this.#opensearch === undefined || this.#spool === undefined) value = Durability.UNKNOWN;
    else value = this.#spool;
    Atomics.store(this.#cells, this.#o.shard, value);
  }
}
