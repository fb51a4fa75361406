// The durable local spool: append-only segment files of checksummed records, synced to disk before
// the ring space of their events is released. It holds events while OpenSearch is failing (and
// all events when no OpenSearch is configured) and gives them back, oldest first, for replay.
//
// Layout: <AUDIT_SPOOL_DIR>/shard-<n>/<ms>-<instance>-<counter>.seg. Worker n appends to shard-n
// and replays every shard-m with m % workers === n, so segments left by an earlier process with
// more workers are replayed too. The instance in the name tells this process's own events (which
// its accounting tracks) from an earlier process's (counted as recovered).
import { mkdir, readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Delivery } from '../delivery/bulk-sink.js';
import type { AuditDocument } from '../worker/document.js';
import { OpenFile, readWhole, syncDir, withFile } from './files.js';
import { OwnerCheck, OwnerLease, segmentOwner } from './lease.js';
import { decodeRecords, encodeRecords } from './records.js';

/**
 * A segment is what one replay call reads, and what it rewrites when it stops part-way (delivery
 * failed, or live events are waiting): small enough that either costs milliseconds, not seconds.
 */
const SEGMENT_MAX_BYTES = 1024 * 1024;
/** How often an empty spool looks for segments another process left. */
const RESCAN_MS = 5_000;
/** After a rewrite failed on a full or read-only volume, replay waits this long before trying again. */
const DEFER_MS = 1_000;
/** Conditions of the volume that pass (space freed, remounted): a segment hit by one is kept. */
const VOLUME_CONDITIONS = new Set(['ENOSPC', 'EDQUOT', 'EROFS']);

/** A rewrite of a segment that the volume refused for now; the segment is still whole. */
class RewriteRefused extends Error {}

export interface SpoolOptions {
  root: string;
  shard: number;
  shards: number;
  /** Hex id of this process (the event-id instance). */
  instance: string;
  /** This shard's share of AUDIT_SPOOL_MAX_BYTES. */
  maxBytes: number;
}

export interface ReplayResult {
  /** Events of this process: indexed, dead-lettered, refused with no dead-letter file, or lost to a corrupt tail. */
  ownIndexed: number;
  ownDeadLettered: number;
  ownDeadLetterLost: number;
  ownLost: number;
  /** Events an earlier process spooled, now indexed, dead-lettered, or refused with no dead-letter file. */
  foreignIndexed: number;
  foreignDeadLettered: number;
  foreignDeadLetterLost: number;
  corruptTails: number;
  /**
   * Own events in a segment set aside because it could not be read or rewritten (renamed to
   * `.seg.bad` for the operator, never replayed again): the caller counts them as dropped.
   */
  ownSetAside: number;
  /** False when delivery failed part-way; the rest stays spooled for the next attempt. */
  complete: boolean;
  /** Why the segment was set aside. */
  error?: string;
  /**
   * Why the segment was kept whole instead (a rewrite refused by a full or read-only volume): this
   * call then counts nothing, and the next replay of the segment, after a short wait, delivers it
   * whole (what this one delivered again, answered "already there") and deletes it.
   */
  deferred?: string;
}

/** A point in this shard's own appends: a segment (the time and counter in its name) and a length. */
export interface SpoolPosition {
  ms: number;
  counter: number;
  bytes: number;
}

function positionOf(file: string): [number, number] | undefined {
  const m = /^(\d+)-[0-9a-z]+-(\d+)\.seg$/.exec(basename(file));
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

export class Spool {
  readonly dir: string;
  readonly #opts: SpoolOptions;
  #bytes = 0;
  #file: OpenFile | undefined;
  #segment = '';
  #segmentBytes = 0;
  #counter = 0;
  #scannedAt = 0;
  /** The segment appended to last and its length after that append (see position()). */
  #at: SpoolPosition = { ms: 0, counter: 0, bytes: 0 };
  /** Records of this process still in each of its segments. */
  readonly #own = new Map<string, number>();
  /** Segments whose rewrite a full or read-only volume refused: replayed whole, without stopping. */
  readonly #replayWhole = new Set<string>();
  #deferredUntil = 0;
  /** Segments set aside that could not even be renamed: this process does not try them again. */
  readonly #skipped = new Set<string>();
  readonly #lease: OwnerLease;
  readonly #owners: OwnerCheck;

  constructor(opts: SpoolOptions) {
    this.#opts = opts;
    this.dir = join(opts.root, `shard-${opts.shard}`);
    this.#lease = new OwnerLease(opts.root, `${opts.instance}-${opts.shard}`);
    this.#owners = new OwnerCheck(opts.root);
  }

  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Creates this shard's folder and measures what is spooled in the folders it replays. Segments of
   * this process (a drain task restarted after its thread died) count as its own again, with the
   * records they hold, so their replay settles this process's `spooled` instead of counting as
   * recovered.
   */
  async init(committed?: SpoolPosition): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    if (committed) await this.#cutUncommitted(committed);
    await this.#owners.sweep();
    await this.#lease.acquire();
    this.#bytes = 0;
    this.#own.clear();
    const mine = `-${this.#opts.instance}-`;
    for (const file of await this.segments()) {
      try {
        this.#bytes += (await stat(file)).size;
        if (basename(file).includes(mine))
          this.#own.set(file, decodeRecords(await readWhole(file)).docs.length);
      } catch {
        // Unreadable: replay sets it aside and says why.
      }
    }
  }

  /**
   * Measures the folders again, at most every RESCAN_MS: another process sharing the spool may have
   * left segments since init() (it closed, or died), which this one must replay although its own
   * spool is empty. Returns the bytes spooled now.
   */
  async rescan(): Promise<number> {
    const now = Date.now();
    if (now - this.#scannedAt < RESCAN_MS) return this.#bytes;
    this.#scannedAt = now;
    let bytes = 0;
    for (const file of await this.segments())
      bytes += await stat(file).then(
        (st) => st.size,
        () => 0,
      );
    this.#bytes = bytes;
    return bytes;
  }

  /**
   * Where this shard's appends stand: record it with each commit, and pass it to init() after a
   * restart (positions only move forward: a replay that rewrites or removes the segment keeps it).
   */
  position(): SpoolPosition {
    return this.#at;
  }

  /**
   * A worker killed between a spool append and its commit left records that are not counted as
   * spooled while their frames are still in the ring, to be read and spooled again: this process's
   * records past the committed position are removed, and the position is kept.
   */
  async #cutUncommitted(committed: SpoolPosition): Promise<void> {
    const mine = `-${this.#opts.instance}-`;
    const names = await readdir(this.dir).catch(() => [] as string[]);
    for (const name of names) {
      if (!name.endsWith('.seg') || !name.includes(mine)) continue;
      const at = positionOf(name);
      if (!at) continue;
      const file = join(this.dir, name);
      const newer = at[0] > committed.ms || (at[0] === committed.ms && at[1] > committed.counter);
      if (newer) await unlink(file);
      else if (at[0] === committed.ms && at[1] === committed.counter) {
        const size = (await stat(file)).size;
        if (size > committed.bytes) await withFile(file, 'r+', (f) => f.truncate(committed.bytes));
      }
    }
    this.#at = { ...committed };
    this.#counter = committed.counter;
    await syncDir(this.dir);
  }

  /** Segment files this shard replays, oldest first (the one being appended to included). */
  async segments(): Promise<string[]> {
    const entries = await readdir(this.#opts.root, { withFileTypes: true }).catch(() => []);
    const files: string[] = [];
    for (const e of entries) {
      const m = /^shard-(\d+)$/.exec(e.name);
      if (!e.isDirectory() || !m || Number(m[1]) % this.#opts.shards !== this.#opts.shard) continue;
      const dir = join(this.#opts.root, e.name);
      for (const f of await readdir(dir))
        if (f.endsWith('.seg') && !this.#skipped.has(join(dir, f))) files.push(join(dir, f));
    }
    return files.sort((a, b) => basename(a).localeCompare(basename(b)));
  }

  /**
   * Appends the documents that fit under the byte cap, synced to disk before it returns. Returns
   * how many were written; the rest (from the first that did not fit) the caller drops as
   * `spool_full`.
   */
  async append(docs: readonly AuditDocument[]): Promise<number> {
    const records = encodeRecords(docs);
    let size = 0;
    let n = 0;
    while (n < records.length && this.#bytes + size + (records[n] as Buffer).length <= this.#opts.maxBytes) {
      size += (records[n] as Buffer).length;
      n++;
    }
    if (n === 0) return 0;
    if (!this.#file || this.#segmentBytes >= SEGMENT_MAX_BYTES) await this.#rotate();
    const file = this.#file as OpenFile;
    try {
      await file.writeAll(Buffer.concat(records.slice(0, n), size));
      await file.datasync();
    } catch (err) {
      // The caller counts all of these as dropped, but whole records may be on disk already: cut
      // them off so replay cannot deliver them a second time. If even that fails, replay delivers
      // only the records counted as spooled (see replayOldest). Never append behind a possibly
      // partial record: start a new segment next time.
      await file.truncate(this.#segmentBytes).catch(() => undefined);
      try {
        this.#closeSegmentFile();
      } catch {
        // released anyway; err says what happened
      }
      // A segment this append opened and that holds nothing would never be replayed (replay runs
      // only while the spool holds bytes): remove it.
      if (this.#segmentBytes === 0) await unlink(this.#segment).catch(() => undefined);
      throw err;
    }
    this.#bytes += size;
    this.#segmentBytes += size;
    this.#own.set(this.#segment, (this.#own.get(this.#segment) ?? 0) + n);
    const at = positionOf(this.#segment);
    if (at) this.#at = { ms: at[0], counter: at[1], bytes: this.#segmentBytes };
    return n;
  }

  async #rotate(): Promise<void> {
    this.#closeSegmentFile();
    this.#counter++;
    const name = `${String(Date.now()).padStart(13, '0')}-${this.#opts.instance}-${String(this.#counter).padStart(6, '0')}.seg`;
    this.#segment = join(this.dir, name);
    this.#file = new OpenFile(this.#segment, 'a');
    this.#segmentBytes = 0;
    await syncDir(this.dir);
  }

  /**
   * Replays the oldest segment through `deliver` in batches of `batchSize`, then deletes it. If a
   * batch comes back with failures, the undelivered rest is written back in place of the segment
   * (atomically: temp file, sync, rename) and replay stops; returns undefined when nothing is spooled.
   */
  async replayOldest(
    deliver: (docs: AuditDocument[]) => Promise<Delivery>,
    batchSize: number,
    /** Asked between batches: true stops here (live events come first); the rest stays spooled. */
    yieldNow: () => boolean = () => false,
  ): Promise<ReplayResult | undefined> {
    if (Date.now() < this.#deferredUntil) return undefined;
    const oldest = await this.#nextReplayable();
    if (oldest === undefined) return undefined;
    if (oldest === this.#segment) {
      this.#segment = '';
      try {
        this.#closeSegmentFile();
      } catch {
        // released anyway; the next append opens a new segment
      }
    }
    const own = this.#own.get(oldest);
    const result: ReplayResult = {
      ownIndexed: 0,
      ownDeadLettered: 0,
      ownDeadLetterLost: 0,
      ownLost: 0,
      foreignIndexed: 0,
      foreignDeadLettered: 0,
      foreignDeadLetterLost: 0,
      corruptTails: 0,
      ownSetAside: 0,
      complete: true,
    };
    try {
      return await this.#replay(oldest, own, result, deliver, batchSize, yieldNow);
    } catch (err) {
      if (err instanceof RewriteRefused) {
        // Nothing of this call counts: the segment still holds all of it, and a worker restarted
        // now would deliver it again and count it then. Sending again is harmless (deterministic
        // ids: "already there"); a refused event may get a second dead-letter line, never a
        // second count.
        this.#replayWhole.add(oldest);
        this.#deferredUntil = Date.now() + DEFER_MS;
        return {
          ...result,
          ownIndexed: 0,
          ownDeadLettered: 0,
          ownDeadLetterLost: 0,
          foreignIndexed: 0,
          foreignDeadLettered: 0,
          foreignDeadLetterLost: 0,
          corruptTails: 0,
          complete: false,
          deferred: `${basename(oldest)}: ${err.message}`,
        };
      }
      // An unreadable segment, a rewrite on a full or read-only disk: set the segment aside so the
      // next cycle goes on with the others, rather than failing on it forever.
      await unlink(`${oldest}.tmp`).catch(() => undefined);
      const size = await stat(oldest).then(
        (st) => st.size,
        () => 0,
      );
      await rename(oldest, `${oldest}.bad`).catch(() => this.#skipped.add(oldest));
      this.#bytes = Math.max(0, this.#bytes - size);
      if (own !== undefined) {
        const settled = result.ownIndexed + result.ownDeadLettered + result.ownDeadLetterLost;
        result.ownSetAside = Math.max(0, own - settled);
        this.#own.delete(oldest);
      }
      result.complete = false;
      result.error = `${basename(oldest)}: ${(err as Error).message}`;
      return result;
    }
  }

  async #replay(
    oldest: string,
    own: number | undefined,
    result: ReplayResult,
    deliver: (docs: AuditDocument[]) => Promise<Delivery>,
    batchSize: number,
    yieldNow: () => boolean,
  ): Promise<ReplayResult> {
    const content = await readWhole(oldest);
    const decoded = decodeRecords(content);
    const { corruptTail } = decoded;
    // Records behind the ones this process counted as spooled belong to an append that failed
    // part-way; they were counted as dropped and are not delivered.
    const docs = own !== undefined && decoded.docs.length > own ? decoded.docs.slice(0, own) : decoded.docs;
    if (corruptTail) result.corruptTails++;
    let at = 0;
    let leftover: AuditDocument[] = [];
    while (at < docs.length) {
      const batch = docs.slice(at, at + batchSize);
      at += batch.length;
      const d = await deliver(batch);
      if (own !== undefined) {
        result.ownIndexed += d.indexed;
        result.ownDeadLettered += d.deadLettered;
        result.ownDeadLetterLost += d.deadLetterLost;
      } else {
        result.foreignIndexed += d.indexed;
        result.foreignDeadLettered += d.deadLettered;
        result.foreignDeadLetterLost += d.deadLetterLost;
      }
      if (d.failed.length > 0) {
        leftover = [...d.failed, ...docs.slice(at)];
        break;
      }
      if (at < docs.length && !this.#replayWhole.has(oldest) && yieldNow()) {
        leftover = docs.slice(at);
        break;
      }
    }
    if (leftover.length > 0) {
      result.complete = false;
      const tmp = `${oldest}.tmp`;
      const records = encodeRecords(leftover);
      try {
        await withFile(tmp, 'w', async (file) => {
          await file.writeAll(Buffer.concat(records));
          await file.datasync();
        });
        await rename(tmp, oldest);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === undefined || !VOLUME_CONDITIONS.has(code)) throw err;
        await unlink(tmp).catch(() => undefined);
        throw new RewriteRefused((err as Error).message);
      }
      this.#replayWhole.delete(oldest); // the volume takes writes again: replay may yield again
      await syncDir(dirname(oldest));
      this.#bytes += records.reduce((n, r) => n + r.length, 0) - content.length;
      if (own !== undefined) {
        // The rewrite drops a corrupt tail for good: its own records are lost now.
        result.ownLost = Math.max(0, own - docs.length);
        this.#own.set(oldest, leftover.length);
      }
    } else {
      await unlink(oldest);
      this.#replayWhole.delete(oldest);
      await syncDir(dirname(oldest));
      this.#bytes -= content.length;
      if (own !== undefined) {
        // Own records behind a corrupt tail are lost; the count of what we wrote says how many.
        result.ownLost = Math.max(0, own - docs.length);
        this.#own.delete(oldest);
      }
    }
    return result;
  }

  /**
   * The oldest segment this shard may replay: its own (this process and shard), or one whose owner
   * is gone (lease.ts). A live owner's segments stay with it: it is still appending to one, and it
   * counts all of them as its spooled events.
   */
  async #nextReplayable(): Promise<string | undefined> {
    const self = `${this.#opts.instance}-${this.#opts.shard}`;
    for (const file of await this.segments()) {
      const owner = segmentOwner(file);
      if (owner === undefined || owner === self || this.#own.has(file)) return file;
      if (!(await this.#owners.alive(owner))) {
        await this.#owners.forget(owner);
        return file;
      }
    }
    return undefined;
  }

  /** Own events still spooled (by this process, not yet replayed). */
  ownPending(): number {
    let n = 0;
    for (const v of this.#own.values()) n += v;
    return n;
  }

  /** Forgets the open segment before closing it: a close that fails still releases its descriptor. */
  #closeSegmentFile(): void {
    const file = this.#file;
    this.#file = undefined;
    file?.close();
  }

  async close(): Promise<void> {
    try {
      this.#closeSegmentFile();
    } catch {
      // released anyway
    }
    await this.#lease.release();
  }
}
