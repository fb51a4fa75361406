// The consumer side of a ring, used by one worker at a time. Frames are read in place and released
// later, in order, once the events in them are acknowledged or handed over: until then the
// producer cannot overwrite them, so a replacement worker can read them again after a crash.
import { align8, FRAME_HEADER_BYTES, RING_HEADER_BYTES, Ring, WRAP_MARK } from '../layout.js';

/** Where a commit's outcome is staged, journaled and applied (StatRow; layout.ts, Journal). */
export interface CommitJournal {
  begin(): void;
  write(release: { cursor: number; events: number }): void;
  abort(): void;
  apply(): { cursor: number; events: number };
}

export class RingConsumer {
  readonly capacity: number;
  readonly #header: Int32Array;
  readonly #data: Uint8Array;
  readonly #lengths: Int32Array;
  readonly #mask: number;
  #read: number;
  #readEvents: number;
  #released: number;
  readonly #journal: CommitJournal | undefined;

  /**
   * With a `journal`, commits are journaled, and a commit an earlier consumer of this ring left
   * unfinished (its worker terminated inside it) is finished here first.
   */
  constructor(buffer: SharedArrayBuffer, journal?: CommitJournal) {
    this.#journal = journal;
    this.capacity = buffer.byteLength - RING_HEADER_BYTES;
    this.#header = new Int32Array(buffer, 0, RING_HEADER_BYTES / 4);
    this.#data = new Uint8Array(buffer, RING_HEADER_BYTES, this.capacity);
    this.#lengths = new Int32Array(buffer, RING_HEADER_BYTES, this.capacity / 4);
    this.#mask = this.capacity - 1;
    if (journal && (Atomics.load(this.#header, Ring.EPOCH) & 1) === 1) {
      const { cursor, events } = journal.apply();
      Atomics.store(this.#header, Ring.RELEASED_EVENTS, events | 0);
      Atomics.store(this.#header, Ring.RELEASE, cursor | 0);
      Atomics.add(this.#header, Ring.EPOCH, 1);
    }
    // Start from what was released, not from what an earlier reader had taken: frames taken but
    // never acknowledged are delivered again (at-least-once).
    this.#read = Atomics.load(this.#header, Ring.RELEASE) >>> 0;
    this.#readEvents = Atomics.load(this.#header, Ring.RELEASED_EVENTS) >>> 0;
    this.#released = this.#read;
  }

  /** Cursor after the last frame returned by next(); pass it to release(). */
  get cursor(): number {
    return this.#read;
  }

  /** Frames returned by next() so far, as an absolute count (wraps at 2^32). */
  get readEvents(): number {
    return this.#readEvents;
  }

  /** True when frames were read but their space is not released yet. */
  holdsUnreleased(): boolean {
    return this.#released !== this.#read;
  }

  /**
   * How full the ring is, 0 to 1: published but unreleased events against `maxEvents` (the
   * producer's drop limit) or bytes against the capacity, whichever is fuller.
   */
  fill(maxEvents: number): number {
    const h = this.#header;
    const events =
      ((Atomics.load(h, Ring.WRITTEN_EVENTS) >>> 0) - (Atomics.load(h, Ring.RELEASED_EVENTS) >>> 0)) >>> 0;
    const bytes = ((Atomics.load(h, Ring.WRITE) >>> 0) - (Atomics.load(h, Ring.RELEASE) >>> 0)) >>> 0;
    return Math.max(events / maxEvents, bytes / this.capacity);
  }

  /**
   * Like fill(), but only what is published and not yet read: the backlog behind the frames this
   * consumer holds.
   */
  backlog(maxEvents: number): number {
    const h = this.#header;
    const events = ((Atomics.load(h, Ring.WRITTEN_EVENTS) >>> 0) - this.#readEvents) >>> 0;
    const bytes = ((Atomics.load(h, Ring.WRITE) >>> 0) - this.#read) >>> 0;
    return Math.max(events / maxEvents, bytes / this.capacity);
  }

  hasData(): boolean {
    return Atomics.load(this.#header, Ring.WRITE) >>> 0 !== this.#read;
  }

  /**
   * The next frame's payload as a view into shared memory, or undefined when none is published.
   * The view stays valid until the frame is released.
   */
  next(): Uint8Array | undefined {
    const write = Atomics.load(this.#header, Ring.WRITE) >>> 0;
    if (write === this.#read) return undefined;
    let offset = this.#read & this.#mask;
    let len = this.#lengths[offset >> 2] as number;
    if (len === WRAP_MARK) {
      this.#read = (this.#read + (this.capacity - offset)) >>> 0;
      offset = 0;
      len = this.#lengths[0] as number;
    }
    const start = offset + FRAME_HEADER_BYTES;
    this.#read = (this.#read + FRAME_HEADER_BYTES + align8(len)) >>> 0;
    this.#readEvents = (this.#readEvents + 1) >>> 0;
    return this.#data.subarray(start, start + len);
  }

  /**
   * Records a batch's outcome (`record` updates the shared counters) and releases its space as one
   * step that stats readers observe atomically (see Ring.EPOCH). With a journal, the outcome is
   * journaled first, so a worker terminated anywhere inside this leaves a commit the next consumer
   * finishes (see Journal in layout.ts).
   */
  commit(cursor: number, events: number, record: () => void): void {
    const journal = this.#journal;
    if (!journal) {
      Atomics.add(this.#header, Ring.EPOCH, 1);
      try {
        record();
      } finally {
        this.release(cursor, events);
        Atomics.add(this.#header, Ring.EPOCH, 1);
      }
      return;
    }
    journal.begin();
    try {
      record();
    } catch (err) {
      journal.abort();
      throw err;
    }
    journal.write({ cursor, events });
    Atomics.add(this.#header, Ring.EPOCH, 1);
    journal.apply();
    this.release(cursor, events);
    Atomics.add(this.#header, Ring.EPOCH, 1);
  }

  /** Records counter updates that involve no ring space (spool replay) as one consistent step. */
  record(update: () => void): void {
    this.commit(this.#released, Atomics.load(this.#header, Ring.RELEASED_EVENTS) >>> 0, update);
  }

  /** Gives the space up to `cursor` (holding frames up to `events`) back to the producer. */
  release(cursor: number, events: number): void {
    this.#released = cursor;
    Atomics.store(this.#header, Ring.RELEASED_EVENTS, events | 0);
    Atomics.store(this.#header, Ring.RELEASE, cursor | 0);
  }

  /** True once the main thread asked for a final flush. */
  closing(): boolean {
    return Atomics.load(this.#header, Ring.CLOSING) === 1;
  }

  /**
   * Parks until the producer publishes, the ring is closed, or `timeoutMs` passes. The timeout
   * bounds the cost of a missed notify; the PARKED flag lets the producer skip notifying a
   * consumer that is busy anyway.
   */
  async waitForData(timeoutMs: number): Promise<void> {
    const wake = Atomics.load(this.#header, Ring.WAKE);
    Atomics.store(this.#header, Ring.PARKED, 1);
    if (this.hasData() || this.closing()) {
      Atomics.store(this.#header, Ring.PARKED, 0);
      return;
    }
    const waited = Atomics.waitAsync(this.#header, Ring.WAKE, wake, timeoutMs);
    if (waited.async) {
      // A pending waitAsync does not keep a thread's event loop alive; this timer does.
      const keepAlive = setTimeout(() => undefined, timeoutMs + 10);
      await waited.value;
      clearTimeout(keepAlive);
    }
    Atomics.store(this.#header, Ring.PARKED, 0);
  }
}
