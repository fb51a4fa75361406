// Worker side of AUDIT_FAILURE_MODE=closed: whether this shard has a durable path for new events,
// published in the durability cell (layout.ts, Durability) that the main thread reads before each
// request. OpenSearch counts while it takes events; the spool counts while its folder is writable
// with room. What the worker last saw of each (a delivery, an append) decides at once; a probe once
// a second finds out when either comes back (the folder freed, the node answering again).
import { open, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@opensearch-project/opensearch';
import type { Breaker } from '../delivery/breaker.js';
import { Durability } from '../layout.js';

/** How often the probe looks at the spool folder and, when it is not taking events, OpenSearch. */
export const PROBE_MS = 1000;
/** Free bytes the spool needs, on its volume and under AUDIT_SPOOL_MAX_BYTES, to count as room. */
export const SPOOL_ROOM_BYTES = 1024 * 1024;
/** The probe's file in the shard's spool folder (replay and the CLI read only `.seg` files). */
const PROBE_FILE = '.durability-probe';
const PROBE_BYTES = Buffer.alloc(512);

export interface DurabilityOptions {
  cells: SharedArrayBuffer;
  shard: number;
  /** This shard's spool folder (where its appends go): the probe writes and syncs a file there. */
  spoolDir: string;
  /** This shard's share of AUDIT_SPOOL_MAX_BYTES. */
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
    // Room in the volume and under the shard's cap (a quarter of a small cap counts as room).
    const room = Math.min(SPOOL_ROOM_BYTES, Math.floor(o.spoolMaxBytes / 4));
    try {
      const fs = await statfs(o.spoolDir);
      const free = Number(fs.bavail) * Number(fs.bsize);
      if (free < room || o.spoolBytes() + room > o.spoolMaxBytes) this.#spool = Durability.SPOOL_FULL;
      else {
        // A write and a sync where the appends go, as an append does them: a read-only mount
        // (EROFS), a folder without permission (EACCES) or a failing disk (EIO) fail here too.
        const file = await open(join(o.spoolDir, PROBE_FILE), 'w');
        try {
          await file.write(PROBE_BYTES);
          await file.datasync();
        } finally {
          await file.close();
        }
        this.#spool = Durability.KEEPS;
      }
    } catch (err) {
      this.#spool =
        (err as NodeJS.ErrnoException).code === 'ENOSPC' ? Durability.SPOOL_FULL : Durability.SPOOL_ERROR;
    }
    // With a spool that keeps events, nobody waits on OpenSearch's answer.
    this.#publish();
    if (!o.client || this.#opensearch === true) return;
    // An open breaker is asked again only once its cooldown passed, as deliveries are. The cluster
    // health is what the writer role may read (cluster:monitor/health); an answer that is not red
    // lets requests in, and the next bulk decides: refused, OpenSearch counts as down again.
    if (this.#opensearch === false && !o.breaker.ready()) return;
    try {
      const res = await o.client.cluster.health({}, { requestTimeout: o.pingTimeoutMs, maxRetries: 0 });
      this.#opensearch = (res.body as { status?: string }).status !== 'red';
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
