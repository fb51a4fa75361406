import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRingBuffer, frameBytes, Ring, ringCapacity } from '../../../src/layout.js';
import { RingConsumer } from '../../../src/ring/consumer.js';
import { RingProducer, WriteResult } from '../../../src/ring/producer.js';

function frame(seq: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  new DataView(out.buffer).setUint32(0, seq, true);
  for (let i = 4; i < size; i++) out[i] = (seq * 31 + i) & 255;
  return out;
}

describe('ring with a real consumer thread', () => {
  it('delivers millions of random-size frames across wrap-around exactly once and intact; drops are exact', async () => {
    const total = 2_000_000;
    const ring = createRingBuffer(1 << 16);
    const seen = new SharedArrayBuffer(total);
    const done = new SharedArrayBuffer(4);
    const worker = new Worker(new URL('../../support/ts-worker.mjs', import.meta.url), {
      workerData: {
        entry: new URL('../../support/ring-checker.worker.ts', import.meta.url).href,
        ring,
        seen,
        done,
      },
    });
    let failed: Error | undefined;
    const result = new Promise<{ corrupt: number; received: number }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', (err) => {
        failed = err;
        reject(err);
      });
    });
    result.catch(() => undefined);
    const producer = new RingProducer(ring);
    const dropped = new Uint8Array(total);
    let drops = 0;
    let wraps = 0;
    let lastOffset = 0;
    let written = 0;
    // Sizes from 4 B to 2 KB; a third of the frames that meet a full ring are dropped, the rest wait.
    let size = 4;
    for (let seq = 0; seq < total; seq++) {
      size = 4 + ((size * 1103515245 + 12345 + seq) & 2047);
      const payload = frame(seq, size);
      for (;;) {
        const r = producer.write(payload);
        if (r === WriteResult.OK) {
          written += frameBytes(size);
          const offset = written % producer.capacity;
          if (offset < lastOffset) wraps++;
          lastOffset = offset;
          break;
        }
        expect(r).toBe(WriteResult.FULL);
        if (seq % 3 === 0) {
          dropped[seq] = 1;
          drops++;
          break;
        }
        // Let the event loop run now and then, so a consumer that died fails the test, not hangs it.
        if (seq % 1024 === 0) await new Promise((r) => setImmediate(r));
        if (failed) throw failed;
      }
    }
    Atomics.store(new Int32Array(done), 0, 1);
    producer.close();
    const { corrupt, received } = await result;
    await worker.terminate();

    const tally = new Uint8Array(seen);
    let mismatched = 0;
    for (let seq = 0; seq < total; seq++) {
      const ok = dropped[seq] ? tally[seq] === 0 : tally[seq] === 1;
      if (!ok) mismatched++;
    }
    expect(corrupt).toBe(0);
    expect(mismatched).toBe(0);
    expect(received + drops).toBe(total);
    expect(drops).toBeGreaterThan(0);
    expect(wraps).toBeGreaterThan(1000);
    expect(producer.pendingEvents()).toBe(0);
    expect(producer.usedBytes()).toBe(0);
  }, 120_000);
});

describe('ring framing (property-based, one thread)', () => {
  type Op = { kind: 'write'; size: number } | { kind: 'read'; n: number } | { kind: 'release' };
  const op = fc.oneof(
    fc.record({ kind: fc.constant('write' as const), size: fc.integer({ min: 0, max: 3000 }) }),
    fc.record({ kind: fc.constant('read' as const), n: fc.integer({ min: 1, max: 8 }) }),
    fc.record({ kind: fc.constant('release' as const) }),
  );

  it('returns exactly the accepted frames, in order, byte for byte; refuses only what cannot fit', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), fc.integer({ min: 12, max: 14 }), (ops: Op[], log2) => {
        const capacity = ringCapacity(2 ** log2);
        const buf = createRingBuffer(capacity);
        const producer = new RingProducer(buf);
        const consumer = new RingConsumer(buf);
        const accepted: Uint8Array[] = [];
        let readCount = 0;
        let seq = 0;
        for (const o of ops) {
          if (o.kind === 'write') {
            const payload = frame(seq++, Math.max(4, o.size));
            const before = producer.usedBytes();
            const r = producer.write(payload);
            if (r === WriteResult.OK) accepted.push(payload);
            else if (r === WriteResult.TOO_LARGE)
              expect(frameBytes(payload.length)).toBeGreaterThan(capacity / 2);
            // Refused as full only when the frame plus what is held could not fit even unwrapped.
            else
              expect(before + frameBytes(payload.length)).toBeGreaterThan(
                capacity - frameBytes(payload.length) + 8,
              );
            expect(producer.usedBytes()).toBeLessThanOrEqual(capacity);
          } else if (o.kind === 'read') {
            for (let i = 0; i < o.n; i++) {
              const got = consumer.next();
              if (!got) {
                expect(readCount).toBe(accepted.length);
                break;
              }
              expect(Buffer.from(got).equals(Buffer.from(accepted[readCount] as Uint8Array))).toBe(true);
              readCount++;
            }
          } else {
            consumer.release(consumer.cursor, consumer.readEvents);
          }
        }
        // Drain and release everything: the ring is empty again and accepts a maximal frame.
        while (consumer.next()) readCount++;
        consumer.release(consumer.cursor, consumer.readEvents);
        expect(readCount).toBe(accepted.length);
        expect(producer.usedBytes()).toBe(0);
        expect(producer.pendingEvents()).toBe(0);
        expect(producer.write(new Uint8Array(capacity / 2 - 8))).toBe(WriteResult.OK);
      }),
      { numRuns: 300 },
    );
  });

  it('a new consumer (a replacement after a crash) re-reads frames taken but not released', () => {
    const buf = createRingBuffer(ringCapacity(4096));
    const producer = new RingProducer(buf);
    for (let i = 0; i < 5; i++) expect(producer.write(frame(i, 100))).toBe(WriteResult.OK);
    const first = new RingConsumer(buf);
    first.next();
    first.next();
    first.release(first.cursor, first.readEvents);
    first.next(); // taken, never released: the reader "crashes" here
    const second = new RingConsumer(buf);
    const seqs: number[] = [];
    for (let f = second.next(); f; f = second.next())
      seqs.push(new DataView(f.buffer, f.byteOffset).getUint32(0, true));
    expect(seqs).toEqual([2, 3, 4]);
    expect(producer.pendingEvents()).toBe(3);
  });

  it('refuses a frame beyond maxEvents unreleased frames, and takes one again after a release', () => {
    const buf = createRingBuffer(ringCapacity(1 << 16));
    const producer = new RingProducer(buf, 3);
    for (let i = 0; i < 3; i++) expect(producer.write(frame(i, 16))).toBe(WriteResult.OK);
    expect(producer.write(frame(3, 16))).toBe(WriteResult.FULL);
    const consumer = new RingConsumer(buf);
    consumer.next();
    consumer.release(consumer.cursor, consumer.readEvents);
    expect(producer.write(frame(3, 16))).toBe(WriteResult.OK);
    expect(producer.write(frame(4, 16))).toBe(WriteResult.FULL);
    expect(producer.pendingEvents()).toBe(3);
  });
});

describe('RingProducer.consistent', () => {
  it('reads again when a commit lands during the read, and keeps the most re-reads one call took', () => {
    const buffer = createRingBuffer(ringCapacity(1 << 12));
    const header = new Int32Array(buffer);
    const producer = new RingProducer(buffer);
    let reads = 0;
    // Two commits (each moves EPOCH by 2) land during the first two reads.
    const value = producer.consistent(() => {
      reads++;
      if (reads <= 2) Atomics.add(header, Ring.EPOCH, 2);
      return reads;
    });
    expect(value).toBe(3);
    expect(producer.mostRetries).toBe(2);
    producer.consistent(() => 0);
    expect(producer.mostRetries).toBe(2);
  });
});
