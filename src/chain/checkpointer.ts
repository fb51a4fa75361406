// The worker side of checkpoints: every AUDIT_CHECKPOINT_INTERVAL_SECONDS, and at close, one
// checkpoint per chain this worker holds (moved or not), made from the committed heads, appended to
// AUDIT_CHECKPOINT_DIR when set, and sent to the checkpoint index. What OpenSearch does not take
// waits for the next round (bounded); a stored checkpoint's hash goes to the head table, so a worker
// that replaces this one links its next checkpoint to it.
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@opensearch-project/opensearch';
import type { Log } from '../delivery/bulk-sink.js';
import { gzipBody, ndjson, postBulk } from '../opensearch/bulk.js';
import { ensureCheckpointIndex } from '../opensearch/setup.js';
import { type Checkpoint, checkpointIndex, makeCheckpoint, type SigningKey } from './checkpoint.js';
import type { ChainSequencer } from './sequencer.js';

/**
 * The longest the checkpoints at close may wait for OpenSearch: close() waits for the workers, and
 * a held answer must not turn a finished drain into AUDIT_ERR_CLOSE_TIMEOUT.
 */
const FINAL_TIMEOUT_MS = 5000;
/** Checkpoints kept while OpenSearch does not take them; past this the oldest are given up (logged). */
const MAX_PENDING = 100_000;

export interface CheckpointerOptions {
  sequencer: ChainSequencer;
  intervalMs: number;
  indexPrefix: string;
  replicas: number;
  requestTimeoutMs: number;
  /** Unset: checkpoints go to files only (or nowhere without a directory). */
  client: Client | undefined;
  /** May a request go to OpenSearch now (the breaker)? */
  allow: () => boolean;
  dir: string | undefined;
  signingKey: SigningKey | undefined;
  log: Log;
}

export class Checkpointer {
  readonly #o: CheckpointerOptions;
  #nextAt: number;
  #pending: Checkpoint[] = [];
  /** The newest checkpoint made per organization (stored or pending): the next one links to it. */
  readonly #last = new Map<string, string>();
  /** The checkpoint index known to exist. */
  #indexReady: string | undefined;
  #fileFailed = false;
  #droppedLogged = false;

  constructor(o: CheckpointerOptions) {
    this.#o = o;
    this.#nextAt = Date.now() + o.intervalMs;
  }

  get pending(): number {
    return this.#pending.length;
  }

  due(now = Date.now()): boolean {
    return now >= this.#nextAt && (this.#o.client !== undefined || this.#o.dir !== undefined);
  }

  /**
   * Makes this round's checkpoints, writes them to the files, and sends what is pending; `final`
   * (at close) waits for OpenSearch at most FINAL_TIMEOUT_MS.
   */
  async run(now = new Date(), final = false): Promise<void> {
    this.#nextAt = now.getTime() + this.#o.intervalMs;
    const { sequencer, signingKey } = this.#o;
    if (!this.#o.client && !this.#o.dir) return;
    const made: Checkpoint[] = [];
    for (const head of sequencer.heads()) {
      const prev = this.#last.get(head.organization) ?? sequencer.lastCheckpoint(head.organization);
      const voided = sequencer.takeVoided(head.organization);
      const cp = makeCheckpoint({ ...head, chainId: sequencer.chainId }, prev, now, signingKey, voided);
      this.#last.set(head.organization, cp.checkpoint_hash);
      made.push(cp);
    }
    if (made.length === 0 && this.#pending.length === 0) return;
    await this.#toFile(made);
    this.#pending.push(...made);
    if (this.#pending.length > MAX_PENDING) {
      const lost = this.#pending.splice(0, this.#pending.length - MAX_PENDING);
      if (!this.#droppedLogged) {
        this.#droppedLogged = true;
        this.#o.log('error', 'Checkpoints not stored for too long: the oldest are given up', {
          count: lost.length,
        });
      }
    }
    const timeout = this.#o.requestTimeoutMs;
    await this.#send(final ? Math.min(FINAL_TIMEOUT_MS, timeout) : timeout);
  }

  async #toFile(cps: Checkpoint[]): Promise<void> {
    const dir = this.#o.dir;
    if (!dir || cps.length === 0) return;
    try {
      await mkdir(dir, { recursive: true });
      const file = await open(join(dir, `${this.#o.sequencer.chainId}.ndjson`), 'a', 0o640);
      try {
        await file.writeFile(cps.map((c) => `${JSON.stringify(c)}\n`).join(''));
        await file.datasync();
      } finally {
        await file.close();
      }
      this.#fileFailed = false;
    } catch (err) {
      if (!this.#fileFailed)
        this.#o.log('error', 'Checkpoint file could not be written', { dir, error: (err as Error).message });
      this.#fileFailed = true;
    }
  }

  async #send(requestTimeoutMs: number): Promise<void> {
    const { client, allow, sequencer, log } = this.#o;
    if (!client || this.#pending.length === 0 || !allow()) return;
    const batch = this.#pending.slice(0, 5000);
    const index = checkpointIndex(this.#o.indexPrefix);
    try {
      if (this.#indexReady !== index) {
        if ((await ensureCheckpointIndex(client, index, this.#o.replicas)) === 'created')
          log('info', 'Checkpoint index created', { index });
        this.#indexReady = index;
      }
      const docs = batch.map((c) => ({
        index,
        id: c.checkpoint_hash,
        routing: c.organization_id,
        source: c as unknown as Record<string, unknown>,
      }));
      // The signal bounds the wait on this side too (the request timeout alone is the server's).
      const { items } = await postBulk(client, gzipBody(ndjson(docs)), {
        requestTimeoutMs,
        signal: AbortSignal.timeout(requestTimeoutMs),
      });
      const stored = new Set<string>();
      items.forEach((item, i) => {
        // 409: already stored (the same checkpoint sent before its answer was lost).
        if (item.status === 201 || item.status === 200 || item.status === 409) {
          const cp = batch[i] as Checkpoint;
          stored.add(cp.checkpoint_hash);
          sequencer.checkpointed(cp.organization_id, cp.checkpoint_hash);
        }
      });
      this.#pending = this.#pending.filter((c) => !stored.has(c.checkpoint_hash));
    } catch {
      // Kept for the next round; the event path reports OpenSearch's trouble already.
    }
  }
}
