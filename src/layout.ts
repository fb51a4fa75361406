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
   * even value before and after reading the counters and cursors saw a consistent snapshot; one
   * that sees the same odd value reads the commit's journal (Journal, below) instead of waiting.
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

/**
 * Each shard's share of AUDIT_MAX_QUEUE_SIZE: the producer drops past it (ring_full) and the
 * worker measures its fill against it (spilling to the spool past half).
 */
export function eventsPerShard(maxQueueSize: number, shards: number): number {
  return Math.max(1, Math.floor(maxQueueSize / shards));
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
  /** Own events acknowledged by OpenSearch (fresh or replayed from the spool). */
  INDEXED: 0,
  /** Own events refused for good and written to the dead-letter file. */
  DEAD_LETTERED: 1,
  /** Own events written to the spool. */
  SPOOLED: 2,
  /** Own spooled events that left the spool again (indexed, dead-lettered or lost). */
  UNSPOOLED: 3,
  /** Spooled events (own or an earlier process's) indexed on replay. */
  REPLAYED: 4,
  /** An earlier process's spooled events indexed or dead-lettered by this one. */
  RECOVERED: 5,
  /** Frames the worker could not decode (dropped: decode_error). */
  DROPPED_DECODE: 6,
  /** Events the spool had no room for (dropped: spool_full). */
  DROPPED_SPOOL_FULL: 7,
  /** Events the spool could not write (dropped: spool_error). */
  DROPPED_SPOOL_ERROR: 8,
  /** Own spooled events lost behind a corrupt segment tail (dropped: spool_corrupt). */
  DROPPED_SPOOL_CORRUPT: 9,
  /** Torn or corrupt segment tails found on replay. */
  SPOOL_CORRUPT_TAILS: 10,
  /** Bytes in this shard's spool now (a gauge). */
  SPOOL_BYTES: 11,
  BULK_OK: 12,
  BULK_FAILED: 13,
  RETRIES: 14,
  WRITE_LATENCY_COUNT: 15,
  WRITE_LATENCY_SUM_MICROS: 16,
  /** Own events refused for good whose dead-letter write failed (dropped: dead_letter_error). */
  DROPPED_DEAD_LETTER: 17,
  /**
   * Where this shard's spool stood at its last commit: the segment appended to last (the time and
   * counter in its name) and its length then. What a worker appended after that is not counted yet
   * (its frames are still in the ring), so a restarted worker cuts it off instead of spooling it a
   * second time.
   */
  SPOOL_AT_MS: 18,
  SPOOL_AT_COUNTER: 19,
  SPOOL_AT_BYTES: 20,
  /** _bulk attempts given up while waiting for OpenSearch because the ring was filling (the batch was spooled). */
  BULK_ABANDONED: 21,
  /**
   * The number of this shard's last commit that moved a hash chain: chain heads written for a later
   * commit number (by a worker terminated before its commit) are not valid (ChainHeads, below).
   */
  CHAIN_COMMIT: 22,
  /** Events stored without a chain position because this shard's chain-head table was full. */
  CHAIN_OVERFLOW: 23,
  WRITE_LATENCY_BUCKETS: 24,
} as const;

/** Upper bounds (seconds) of the OpenSearch write-latency histogram. */
export const WRITE_LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] as const;

export const STAT_ROW_SLOTS = Stat.WRITE_LATENCY_BUCKETS + WRITE_LATENCY_BUCKETS.length;

/**
 * The commit journal, right after each shard's row: a batch's outcome written as the absolute
 * values its stat slots will hold and the release cursor the ring will have, before any of it is
 * applied. A worker terminated mid-commit (Worker.terminate() runs no `finally`) leaves Ring.EPOCH
 * odd; readers then take the journal's values, and the next consumer of the ring applies the
 * journal again (setting absolute values is idempotent) and makes EPOCH even. So a commit is
 * never half seen, never lost, and never counted twice.
 */
export const Journal = {
  /** Entries in use. */
  COUNT: 0,
  /** The ring's RELEASE cursor after the commit. */
  RELEASE: 1,
  /** The ring's RELEASED_EVENTS after the commit. */
  RELEASED_EVENTS: 2,
  /** (slot, value) pairs from here. */
  ENTRIES: 3,
} as const;

/** Distinct stat slots one commit may set. */
export const JOURNAL_MAX_ENTRIES = 16;
export const JOURNAL_SLOTS = Journal.ENTRIES + 2 * JOURNAL_MAX_ENTRIES;
/** BigInt64 slots per shard in the stats block: its row, then its journal. */
export const SHARD_STATS_SLOTS = STAT_ROW_SLOTS + JOURNAL_SLOTS;

export function createStatsBuffer(shards: number): SharedArrayBuffer {
  return new SharedArrayBuffer(shards * SHARD_STATS_SLOTS * 8);
}

/**
 * The chain-head table: where each organization's hash chain (src/chain/) stands as of a shard's
 * last commit, so that a worker replacing a terminated one derives the same chain positions for
 * the frames it reads again. One SharedArrayBuffer, CHAIN_HEAD_SLOTS slots per shard, open
 * addressing by the organization's key. A slot holds the key (16 bytes of SHA-256 of the
 * organization id; all zero when free) and two versions of the head, each stamped with the commit
 * number that wrote it. The valid version is the newest whose number is not above the shard's
 * committed number (Stat.CHAIN_COMMIT); a commit always writes over the other one, so a commit cut
 * short never touches what the last finished commit left.
 */
export const ChainHeads = {
  /** Bytes per slot. */
  SLOT_BYTES: 160,
  /** Byte offsets in a slot. */
  KEY: 0,
  KEY_BYTES: 16,
  /** Two versions, each: commit number (BigInt64), sequence (BigInt64), head hash (32 bytes). */
  VERSION: [16, 64],
  VERSION_COMMIT: 0,
  VERSION_SEQ: 8,
  VERSION_HEAD: 16,
  HEAD_BYTES: 32,
  /**
   * The chain's last stored checkpoint: its hash (32 bytes), then a BigInt64 that is 1 once set.
   * Written after the checkpoint is stored (not tied to ring commits), so a successor links its
   * next checkpoint to it.
   */
  CHECKPOINT: 112,
  CHECKPOINT_SET: 144,
} as const;

/** Organizations one shard keeps a chain for at a time (1.25 MiB per shard). */
export const CHAIN_HEAD_SLOTS = 8192;

export function createChainHeadsBuffer(shards: number): SharedArrayBuffer {
  return new SharedArrayBuffer(shards * CHAIN_HEAD_SLOTS * ChainHeads.SLOT_BYTES);
}

/**
 * Whether each shard's worker has a durable path for new events (AUDIT_FAILURE_MODE=closed reads
 * it before every request): one Int32 per shard, written by the worker, read by the main thread.
 * 0 (KEEPS): OpenSearch is taking events, or the spool is writable with room. Otherwise the reason
 * none is: OpenSearch is not taking events and the spool is full (SPOOL_FULL) or cannot be written
 * (SPOOL_ERROR).
 */
export const Durability = {
  KEEPS: 0,
  SPOOL_FULL: 1,
  SPOOL_ERROR: 2,
  /** Before the worker's first probe: not known yet, so not kept. */
  UNKNOWN: 3,
} as const;
export type Durability = (typeof Durability)[keyof typeof Durability];

export function createDurabilityBuffer(shards: number): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer(shards * 4);
  new Int32Array(buffer).fill(Durability.UNKNOWN);
  return buffer;
}
