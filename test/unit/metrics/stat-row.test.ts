import { describe, expect, it } from 'vitest';
import { createStatsBuffer, STAT_ROW_SLOTS, Stat, WRITE_LATENCY_BUCKETS } from '../../../src/layout.js';
import { addRows, readCommitting, readRow, StatRow } from '../../../src/metrics/stat-row.js';

const zeros = () => new Array<number>(STAT_ROW_SLOTS).fill(0);

/** The row with `changes` applied to a row of zeros. */
function rowWith(changes: Record<number, number>): number[] {
  const row = zeros();
  for (const [slot, v] of Object.entries(changes)) row[Number(slot)] = v;
  return row;
}

const bucket = (i: number) => Stat.WRITE_LATENCY_BUCKETS + i;

describe('StatRow', () => {
  it('adds into its slot and leaves the others alone', () => {
    const buffer = createStatsBuffer(1);
    const row = new StatRow(buffer, 0);
    row.add(Stat.INDEXED, 5);
    row.add(Stat.INDEXED, 7);
    row.add(Stat.RETRIES, 1);
    row.add(Stat.DEAD_LETTERED, 0);
    expect(readRow(buffer, 0)).toEqual(rowWith({ [Stat.INDEXED]: 12, [Stat.RETRIES]: 1 }));
  });

  it('sets a gauge slot, replacing what was there', () => {
    const buffer = createStatsBuffer(1);
    const row = new StatRow(buffer, 0);
    row.set(Stat.SPOOL_BYTES, 4096);
    row.set(Stat.SPOOL_BYTES, 1024);
    expect(readRow(buffer, 0)).toEqual(rowWith({ [Stat.SPOOL_BYTES]: 1024 }));
    row.set(Stat.SPOOL_BYTES, 0);
    expect(readRow(buffer, 0)).toEqual(zeros());
  });

  it('writes only its own shard row', () => {
    const buffer = createStatsBuffer(3);
    new StatRow(buffer, 1).add(Stat.SPOOLED, 9);
    new StatRow(buffer, 2).add(Stat.SPOOLED, 4);
    // The last slot of a row is next to the first of the next row.
    new StatRow(buffer, 0).add(STAT_ROW_SLOTS - 1, 1);
    expect(readRow(buffer, 0)).toEqual(rowWith({ [STAT_ROW_SLOTS - 1]: 1 }));
    expect(readRow(buffer, 1)).toEqual(rowWith({ [Stat.SPOOLED]: 9 }));
    expect(readRow(buffer, 2)).toEqual(rowWith({ [Stat.SPOOLED]: 4 }));
  });

  it('sees what another StatRow over the same shared memory wrote (as the main thread sees a worker)', () => {
    const buffer = createStatsBuffer(2);
    const writer = new StatRow(buffer, 1);
    writer.add(Stat.INDEXED, 3);
    new StatRow(buffer, 1).add(Stat.INDEXED, 2);
    expect(readRow(buffer, 1)[Stat.INDEXED]).toBe(5);
  });

  it('counts a write latency: count, sum in microseconds and the first bucket not below it', () => {
    const buffer = createStatsBuffer(1);
    const row = new StatRow(buffer, 0);
    row.observeWriteLatency(0.004); // ≤ 0.005: bucket 0
    row.observeWriteLatency(0.005); // on the bound: still bucket 0
    row.observeWriteLatency(0.0051); // bucket 1 (≤ 0.01)
    row.observeWriteLatency(0.3); // bucket 6 (≤ 0.5)
    row.observeWriteLatency(30); // the last bucket
    expect(readRow(buffer, 0)).toEqual(
      rowWith({
        [Stat.WRITE_LATENCY_COUNT]: 5,
        [Stat.WRITE_LATENCY_SUM_MICROS]: 4000 + 5000 + 5100 + 300_000 + 30_000_000,
        [bucket(0)]: 2,
        [bucket(1)]: 1,
        [bucket(6)]: 1,
        [bucket(WRITE_LATENCY_BUCKETS.length - 1)]: 1,
      }),
    );
  });

  it('counts a write latency above every bucket only in count and sum', () => {
    const buffer = createStatsBuffer(1);
    new StatRow(buffer, 0).observeWriteLatency(45.5);
    expect(readRow(buffer, 0)).toEqual(
      rowWith({ [Stat.WRITE_LATENCY_COUNT]: 1, [Stat.WRITE_LATENCY_SUM_MICROS]: 45_500_000 }),
    );
  });

  it('rounds the latency sum to whole microseconds', () => {
    const buffer = createStatsBuffer(1);
    const row = new StatRow(buffer, 0);
    row.observeWriteLatency(0.0000014); // 1.4 µs → 1
    row.observeWriteLatency(0.0000016); // 1.6 µs → 2
    expect(readRow(buffer, 0)[Stat.WRITE_LATENCY_SUM_MICROS]).toBe(3);
  });

  it('holds counts past 2^32 (64-bit slots)', () => {
    const buffer = createStatsBuffer(1);
    const row = new StatRow(buffer, 0);
    row.add(Stat.INDEXED, 2 ** 32);
    row.add(Stat.INDEXED, 2 ** 32);
    expect(readRow(buffer, 0)[Stat.INDEXED]).toBe(2 ** 33);
  });
});

describe('readRow and addRows', () => {
  it('reads a row as STAT_ROW_SLOTS numbers', () => {
    const row = readRow(createStatsBuffer(1), 0);
    expect(row).toHaveLength(STAT_ROW_SLOTS);
    expect(row).toEqual(zeros());
  });

  it('sums the rows of two shards slot by slot, into the array it returns', () => {
    const buffer = createStatsBuffer(2);
    const a = new StatRow(buffer, 0);
    const b = new StatRow(buffer, 1);
    a.add(Stat.INDEXED, 10);
    b.add(Stat.INDEXED, 5);
    a.add(Stat.SPOOLED, 2);
    b.set(Stat.SPOOL_BYTES, 512);
    a.observeWriteLatency(0.02);
    b.observeWriteLatency(0.02);
    b.observeWriteLatency(2);
    const into: number[] = [];
    const sum = addRows(addRows(into, readRow(buffer, 0)), readRow(buffer, 1));
    expect(sum).toBe(into);
    expect(sum).toEqual(
      rowWith({
        [Stat.INDEXED]: 15,
        [Stat.SPOOLED]: 2,
        [Stat.SPOOL_BYTES]: 512,
        [Stat.WRITE_LATENCY_COUNT]: 3,
        [Stat.WRITE_LATENCY_SUM_MICROS]: 20_000 + 20_000 + 2_000_000,
        [bucket(2)]: 2,
        [bucket(8)]: 1,
      }),
    );
  });

  it('adds onto a non-empty total', () => {
    expect(addRows([1, 2, 3], [10, 20, 30, 40])).toEqual([11, 22, 33, 40]);
  });
});

describe('StatRow as the commit journal', () => {
  it('stages adds and sets between begin() and write(), and applies them only from the journal', () => {
    const buffer = createStatsBuffer(1);
    const row = new StatRow(buffer, 0);
    row.add(Stat.INDEXED, 5);
    row.begin();
    row.add(Stat.INDEXED, 3);
    row.add(Stat.INDEXED, 2);
    row.set(Stat.SPOOL_BYTES, 77);
    expect(readRow(buffer, 0)[Stat.INDEXED]).toBe(5);
    row.write({ cursor: 4096, events: 12 });
    // A reader that finds a commit under way sees what it will leave.
    const [after, releasedEvents] = readCommitting(buffer, 0);
    expect([after[Stat.INDEXED], after[Stat.SPOOL_BYTES], releasedEvents]).toEqual([10, 77, 12]);
    expect(readRow(buffer, 0)[Stat.INDEXED]).toBe(5);
    expect(row.apply()).toEqual({ cursor: 4096, events: 12 });
    expect(readRow(buffer, 0)[Stat.INDEXED]).toBe(10);
    // Applying again (a replacement worker finishing the commit) changes nothing: absolute values.
    row.apply();
    expect(readRow(buffer, 0)[Stat.INDEXED]).toBe(10);
    // Outside a commit, adds go straight to the row again.
    row.add(Stat.INDEXED, 1);
    expect(readRow(buffer, 0)[Stat.INDEXED]).toBe(11);
  });

  it('abort() drops what was staged', () => {
    const buffer = createStatsBuffer(1);
    const row = new StatRow(buffer, 0);
    row.begin();
    row.add(Stat.INDEXED, 3);
    row.abort();
    row.add(Stat.SPOOLED, 1);
    expect(readRow(buffer, 0)[Stat.INDEXED]).toBe(0);
    expect(readRow(buffer, 0)[Stat.SPOOLED]).toBe(1);
  });
});
