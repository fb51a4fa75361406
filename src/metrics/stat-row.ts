// Reading and writing the shared metrics block (layout in src/layout.ts). A worker owns one row
// and is its only writer; the main thread sums the rows when asked.
import { STAT_ROW_SLOTS, Stat, WRITE_LATENCY_BUCKETS } from '../layout.js';

export class StatRow {
  readonly #cells: BigInt64Array;

  constructor(buffer: SharedArrayBuffer, shard: number) {
    this.#cells = new BigInt64Array(buffer, shard * STAT_ROW_SLOTS * 8, STAT_ROW_SLOTS);
  }

  add(slot: number, n: number): void {
    if (n === 0) return;
    Atomics.store(this.#cells, slot, Atomics.load(this.#cells, slot) + BigInt(n));
  }

  set(slot: number, n: number): void {
    Atomics.store(this.#cells, slot, BigInt(n));
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
}

/** One shard's row as numbers. Bucket counts are per bucket, not cumulative. */
export function readRow(buffer: SharedArrayBuffer, shard: number): number[] {
  const cells = new BigInt64Array(buffer, shard * STAT_ROW_SLOTS * 8, STAT_ROW_SLOTS);
  const out = new Array<number>(STAT_ROW_SLOTS);
  for (let slot = 0; slot < STAT_ROW_SLOTS; slot++) out[slot] = Number(Atomics.load(cells, slot));
  return out;
}

export function addRows(into: number[], row: readonly number[]): number[] {
  for (let i = 0; i < row.length; i++) into[i] = (into[i] ?? 0) + (row[i] as number);
  return into;
}
