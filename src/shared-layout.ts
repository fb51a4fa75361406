// The shared-memory layout: the one file that both the main thread and the workers import, so the
// two sides can never disagree on where a cursor or a counter lives.
//
// A ring is one SharedArrayBuffer: a header of Int32 slots, then a data area whose size is a power
// of two. Cursors are byte counts that only grow and wrap at 2^32; the offset of a cursor in the
// data area is `cursor & (capacity - 1)`. Frames start 8-byte aligned (unaligned copies into shared
// memory cost about 3x): an 8-byte frame header holding the payload length, then the payload,
// padded to a multiple of 8. A header whose length is WRAP_MARK tells the reader to skip to the
// start of the data area.

/**
 * Int32 slots of a ring header. Producer-written, consumer-written and signalling slots sit on
 * separate 64-byte cache lines, so the two threads do not invalidate each other's line on every
 * event (false sharing).
 */
export const Ring = {
  /** Producer: bytes published (frames visible to the consumer end here). */
  WRITE: 0,
  /** Producer: frames published. */
  WRITTEN_EVENTS: 1,
  /** Consumer: bytes released (acknowledged or handed over); the producer may reuse them. */
  RELEASE: 16,
  /** Consumer: frames released. */
  RELEASED_EVENTS: 17,
  /**
   * Consumer: odd while it records a batch's outcome and releases it. A reader that sees the same
   * even value before and after reading the counters and cursors saw a consistent snapshot.
   */
  EPOCH: 18,
  /** Consumer: 1 while parked in Atomics.waitAsync. */
  PARKED: 32,
  /** Futex word the producer bumps and notifies when it finds the consumer parked. */
  WAKE: 33,
  /** Main thread: 1 asks the consumer to flush everything it can see and finish. */
  CLOSING: 34,
} as const;

export const RING_HEADER_BYTES = 192;
export const FRAME_HEADER_BYTES = 8;
export const WRAP_MARK = -1;
export const MIN_RING_BYTES = 1 << 12;

export function align8(n: number): number {
  return (n + 7) & ~7;
}

/** Bytes a frame with `payload` bytes occupies in the data area. */
export function frameBytes(payload: number): number {
  return FRAME_HEADER_BYTES + align8(payload);
}

/** The largest power of two not above `bytes` (and not below MIN_RING_BYTES). */
export function ringCapacity(bytes: number): number {
  let cap = MIN_RING_BYTES;
  while (cap * 2 <= bytes && cap < 2 ** 30) cap *= 2;
  return cap;
}

export function createRingBuffer(capacity: number): SharedArrayBuffer {
  if (capacity !== ringCapacity(capacity))
    throw new RangeError(`ring capacity ${capacity} is not a power of two ≥ 4096`);
  return new SharedArrayBuffer(RING_HEADER_BYTES + capacity);
}

/** A frame larger than this is refused: a ring must hold at least two of the largest frames. */
export function maxFrameBytes(capacity: number): number {
  return capacity / 2;
}

/**
 * The metrics block: one SharedArrayBuffer of BigInt64 slots. Each worker shard writes only its own
 * row (single writer, so plain Atomics.store suffices); the main thread sums rows at scrape time.
 */
export const Stat = {
  INDEXED: 0,
  DEAD_LETTERED: 1,
  SPOOLED: 2,
  REPLAYED: 3,
  /** A frame the worker could not decode (dropped, reason `decode_error`). */
  DROPPED_DECODE: 4,
  /** Events that neither OpenSearch nor the spool took (dropped, reason `undeliverable`). */
  DROPPED_UNDELIVERABLE: 5,
  BULK_OK: 6,
  BULK_FAILED: 7,
  RETRIES: 8,
  WRITE_LATENCY_COUNT: 9,
  WRITE_LATENCY_SUM_MICROS: 10,
  WRITE_LATENCY_BUCKETS: 11,
} as const;

/** Upper bounds (seconds) of the OpenSearch write-latency histogram. */
export const WRITE_LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] as const;

export const STAT_ROW_SLOTS = Stat.WRITE_LATENCY_BUCKETS + WRITE_LATENCY_BUCKETS.length;

export function createStatsBuffer(shards: number): SharedArrayBuffer {
  return new SharedArrayBuffer(shards * STAT_ROW_SLOTS * 8);
}
