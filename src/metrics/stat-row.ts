// Reading and writing the shared metrics block (layout in src/layout.ts). A worker owns one row and
// its commit journal and is their only writer; the main thread sums the rows when asked.
import {
  JOURNAL_MAX_ENTRIES,
  JOURNAL_SLOTS,
  Journal,
  SHARD_STATS_SLOTS,
  STAT_ROW_SLOTS,
  Stat,
  WRITE_LATENCY_BUCKETS,
} from '../layout.js';

function rowOf(buffer: SharedArrayBuffer, shard: number): BigInt64Array {
  return new BigInt64Array(buffer, shard * SHARD_STATS_SLOTS * 8, STAT_ROW_SLOTS);
}

function journalOf(buffer: SharedArrayBuffer, shard: number): BigInt64Array {
  return new BigInt64Array(buffer, (shard * SHARD_STATS_SLOTS + STAT_ROW_SLOTS) * 8, JOURNAL_SLOTS);
}

/** What a commit journal says the ring's release cursor and count will be. */
export interface Released {
  cursor: number;
  events: number;
}

export class StatRow {
  readonly #cells: BigInt64Array;
  readonly #journal: BigInt64Array;
  /** Inside a commit: the slots it changes and their new absolute values, not yet applied. */
  #staged: Map<number, bigint> | undefined;

  constructor(buffer: SharedArrayBuffer, shard: number) {
    this.#cells = rowOf(buffer, shard);
    this.#journal = journalOf(buffer, shard);
  }

  add(slot: number, n: number): void {
    if (n === 0) return;
    const staged = this.#staged;
    if (staged) staged.set(slot, (staged.get(slot) ?? Atomics.load(this.#cells, slot)) + BigInt(n));
    else Atomics.store(this.#cells, slot, Atomics.load(this.#cells, slot) + BigInt(n));
  }

  set(slot: number, n: number): void {
    if (this.#staged) this.#staged.set(slot, BigInt(n));
    else Atomics.store(this.#cells, slot, BigInt(n));
  }

  observeWriteLatency(seconds: number): void {
    this.add(Stat.WRITE_LATENCY_COUNT, 1);
    this.add(Stat.WRITE_LATENCY_SUM_MICROS, Math.round(seconds * 1e6));
    for (let i = 0; i < WRITE_LATENCY_BUCKETS.length; i++) {
      if (seconds <= (WRITE_LATENCY_BUCKETS[i] as number)) {
        this.add(Stat.WRITE_LATENCY_BUCKETS + i, 1);
        return;
      }
    }
  }

  // ---- the commit journal (RingConsumer.commit drives these) ----

  /** From here until write(), add() and set() are staged instead of applied. */
  begin(): void {
    this.#staged = new Map();
  }

  /** Writes the staged values and the release the commit will make into the journal. */
  write(release: Released): void {
    const staged = this.#staged ?? new Map<number, bigint>();
    if (staged.size > JOURNAL_MAX_ENTRIES)
      throw new RangeError(
        `a commit sets ${staged.size} stat slots; the journal holds ${JOURNAL_MAX_ENTRIES}`,
      );
    const j = this.#journal;
    let at: number = Journal.ENTRIES;
    for (const [slot, value] of staged) {
      Atomics.store(j, at++, BigInt(slot));
      Atomics.store(j, at++, value);
    }
    Atomics.store(j, Journal.COUNT, BigInt(staged.size));
    Atomics.store(j, Journal.RELEASE, BigInt(release.cursor >>> 0));
    Atomics.store(j, Journal.RELEASED_EVENTS, BigInt(release.events >>> 0));
    this.#staged = undefined;
  }

  /** Drops what begin() staged (the commit did not happen). */
  abort(): void {
    this.#staged = undefined;
  }

  /** Sets every journaled slot to its value; returns the release the journal records. */
  apply(): Released {
    const j = this.#journal;
    const n = Number(Atomics.load(j, Journal.COUNT));
    for (let i = 0; i < n; i++) {
      const at = Journal.ENTRIES + 2 * i;
      Atomics.store(this.#cells, Number(Atomics.load(j, at)), Atomics.load(j, at + 1));
    }
    return {
      cursor: Number(Atomics.load(j, Journal.RELEASE)),
      events: Number(Atomics.load(j, Journal.RELEASED_EVENTS)),
    };
  }
}

/** One shard's row as numbers. Bucket counts are per bucket, not cumulative. */
export function readRow(buffer: SharedArrayBuffer, shard: number): number[] {
  const cells = rowOf(buffer, shard);
  const out = new Array<number>(STAT_ROW_SLOTS);
  for (let slot = 0; slot < STAT_ROW_SLOTS; slot++) out[slot] = Number(Atomics.load(cells, slot));
  return out;
}

/**
 * The row as the commit in progress will leave it, and that commit's released-events count: for a
 * reader that found Ring.EPOCH odd (a commit under way, or one whose worker was terminated).
 */
export function readCommitting(buffer: SharedArrayBuffer, shard: number): [number[], number] {
  const row = readRow(buffer, shard);
  const j = journalOf(buffer, shard);
  const n = Number(Atomics.load(j, Journal.COUNT));
  for (let i = 0; i < n; i++) {
    const at = Journal.ENTRIES + 2 * i;
    row[Number(Atomics.load(j, at))] = Number(Atomics.load(j, at + 1));
  }
  return [row, Number(Atomics.load(j, Journal.RELEASED_EVENTS))];
}

export function addRows(into: number[], row: readonly number[]): number[] {
  for (let i = 0; i < row.length; i++) into[i] = (into[i] ?? 0) + (row[i] as number);
  return into;
}
