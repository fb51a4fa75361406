// The producer side of a single-producer, single-consumer ring. The main thread is the only
// producer of its rings, so its write cursor can live in a field; only the publish is atomic.
// It never blocks and never locks: a frame that does not fit is refused and the caller counts it.
import { align8, FRAME_HEADER_BYTES, maxFrameBytes, RING_HEADER_BYTES, Ring, WRAP_MARK } from '../layout.js';

export const WriteResult = { OK: 0, FULL: 1, TOO_LARGE: 2 } as const;
export type WriteResult = (typeof WriteResult)[keyof typeof WriteResult];

export class RingProducer {
  readonly capacity: number;
  readonly buffer: SharedArrayBuffer;
  readonly #header: Int32Array;
  readonly #data: Uint8Array;
  readonly #lengths: Int32Array;
  readonly #mask: number;
  readonly #maxFrame: number;
  /** Frames that may be published and not yet released (AUDIT_MAX_QUEUE_SIZE's share). */
  readonly #maxEvents: number;
  #write: number;
  #events: number;
  /**
   * The consumer's release cursor as last read. It only moves forward, so an old value
   * underestimates the free space and is safe; it is re-read only when a frame seems not to fit,
   * which keeps the consumer's cache line out of the common write.
   */
  #release: number;
  /** The consumer's released-frames count as last read; re-read, like #release, only when full. */
  #releasedEvents: number;

  constructor(buffer: SharedArrayBuffer, maxEvents = Number.POSITIVE_INFINITY) {
    this.buffer = buffer;
    this.capacity = buffer.byteLength - RING_HEADER_BYTES;
    this.#header = new Int32Array(buffer, 0, RING_HEADER_BYTES / 4);
    this.#data = new Uint8Array(buffer, RING_HEADER_BYTES, this.capacity);
    this.#lengths = new Int32Array(buffer, RING_HEADER_BYTES, this.capacity / 4);
    this.#mask = this.capacity - 1;
    this.#maxFrame = maxFrameBytes(this.capacity);
    this.#write = Atomics.load(this.#header, Ring.WRITE) >>> 0;
    this.#events = Atomics.load(this.#header, Ring.WRITTEN_EVENTS) >>> 0;
    this.#release = Atomics.load(this.#header, Ring.RELEASE) >>> 0;
    this.#releasedEvents = Atomics.load(this.#header, Ring.RELEASED_EVENTS) >>> 0;
    this.#maxEvents = maxEvents;
  }

  /** Copies the first `len` bytes of `payload` into the ring as one frame and publishes it. */
  write(payload: Uint8Array, len = payload.length): WriteResult {
    const need = FRAME_HEADER_BYTES + align8(len);
    if (need > this.#maxFrame) return WriteResult.TOO_LARGE;
    if ((this.#events - this.#releasedEvents) >>> 0 >= this.#maxEvents) {
      this.#releasedEvents = Atomics.load(this.#header, Ring.RELEASED_EVENTS) >>> 0;
      if ((this.#events - this.#releasedEvents) >>> 0 >= this.#maxEvents) return WriteResult.FULL;
    }
    let write = this.#write;
    let offset = write & this.#mask;
    const tail = this.capacity - offset;
    // Bytes this frame takes, with the skipped tail when it has to wrap to offset 0.
    const take = need > tail ? tail + need : need;
    if (((write - this.#release) >>> 0) + take > this.capacity) {
      this.#release = Atomics.load(this.#header, Ring.RELEASE) >>> 0;
      if (((write - this.#release) >>> 0) + take > this.capacity) return WriteResult.FULL;
    }
    if (need > tail) {
      // Not enough room before the end: mark the tail as skipped and start over at offset 0.
      this.#lengths[offset >> 2] = WRAP_MARK;
      write = (write + tail) >>> 0;
      offset = 0;
    }
    this.#lengths[offset >> 2] = len;
    this.#data.set(len === payload.length ? payload : payload.subarray(0, len), offset + FRAME_HEADER_BYTES);
    this.#write = (write + need) >>> 0;
    this.#events = (this.#events + 1) >>> 0;
    Atomics.store(this.#header, Ring.WRITTEN_EVENTS, this.#events | 0);
    // The store of the cursor publishes the frame: everything written above is visible to a
    // consumer that loads this cursor.
    Atomics.store(this.#header, Ring.WRITE, this.#write | 0);
    if (
      Atomics.load(this.#header, Ring.PARKED) === 1 &&
      Atomics.compareExchange(this.#header, Ring.PARKED, 1, 0) === 1
    ) {
      Atomics.add(this.#header, Ring.WAKE, 1);
      Atomics.notify(this.#header, Ring.WAKE, 1);
    }
    return WriteResult.OK;
  }

  /**
   * Whether another event fits now: under the event limit, with `bytes` free. Reads the consumer's
   * cursors afresh (AUDIT_FAILURE_MODE=closed asks before each request).
   */
  hasRoom(bytes: number): boolean {
    if ((this.#events - (Atomics.load(this.#header, Ring.RELEASED_EVENTS) >>> 0)) >>> 0 >= this.#maxEvents)
      return false;
    return ((this.#write - (Atomics.load(this.#header, Ring.RELEASE) >>> 0)) >>> 0) + bytes <= this.capacity;
  }

  /** Bytes published but not yet released. */
  usedBytes(): number {
    return (this.#write - (Atomics.load(this.#header, Ring.RELEASE) >>> 0)) >>> 0;
  }

  /** Frames published but not yet released (or, with `releasedEvents`, than that count). */
  pendingEvents(releasedEvents = Atomics.load(this.#header, Ring.RELEASED_EVENTS)): number {
    return (this.#events - (releasedEvents >>> 0)) >>> 0;
  }

  /**
   * Runs `read` until the consumer's commit epoch is the same before and after it, so the result
   * is one consistent snapshot. `committing` is true when a commit is under way (or was cut short
   * by a terminated worker): `read` then takes the journal's values (readCommitting), so this never
   * waits for the consumer.
   */
  consistent<T>(read: (committing: boolean) => T): T {
    for (let retries = 0; ; retries++) {
      const before = Atomics.load(this.#header, Ring.EPOCH);
      const value = read((before & 1) === 1);
      if (Atomics.load(this.#header, Ring.EPOCH) === before) {
        if (retries > this.mostRetries) this.mostRetries = retries;
        return value;
      }
    }
  }

  /**
   * The most re-reads one consistent() call needed (a commit landed while it read): a few at most,
   * since a read never waits for the consumer. The soak checks it.
   */
  mostRetries = 0;

  /** Asks the consumer to flush what it can see and finish, waking it if parked. */
  close(): void {
    Atomics.store(this.#header, Ring.CLOSING, 1);
    Atomics.store(this.#header, Ring.PARKED, 0);
    Atomics.add(this.#header, Ring.WAKE, 1);
    Atomics.notify(this.#header, Ring.WAKE);
  }
}
