// A worker terminated in the middle of a commit (Worker.terminate() skips `finally`): the stats
// reader must still answer at once, and the replacement worker must finish the interrupted commit
// rather than count the batch a second time.
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { createRingBuffer, createStatsBuffer } from '../../../src/layout.js';
import { RingProducer, WriteResult } from '../../../src/ring/producer.js';

function thread(data: Record<string, unknown>): Worker {
  return new Worker(new URL('../../support/ts-worker.mjs', import.meta.url), {
    workerData: { entry: new URL('../../support/commit.worker.ts', import.meta.url).href, ...data },
  });
}

/** The first message of a thread, or an error naming `what` after `ms`. */
function answer<T>(worker: Worker, what: string, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(new Error(`${what}: no answer within ${ms} ms`));
    }, ms);
    worker.once('message', (m: T) => {
      clearTimeout(timer);
      resolve(m);
    });
    worker.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('a worker terminated inside a commit', () => {
  it('leaves stats() answering at once and the batch counted exactly once after the restart', async () => {
    const ring = createRingBuffer(1 << 16);
    const stats = createStatsBuffer(1);
    const control = new SharedArrayBuffer(8);
    const flags = new Int32Array(control);
    const producer = new RingProducer(ring);
    const total = 1000;
    for (let i = 0; i < total; i++) expect(producer.write(new Uint8Array(40))).toBe(WriteResult.OK);

    const first = thread({ mode: 'drain', ring, stats, control, batch: 100, pauseAtBatch: 4 });
    first.on('error', () => undefined);
    await until(() => Atomics.load(flags, 0) === 1, 'the drain to pause inside its fourth commit');
    await first.terminate();

    // The main thread's stats(): it must not wait for a commit that will never finish.
    const during = await answer<{ indexed: number; pending: number }>(
      thread({ mode: 'read', ring, stats }),
      'stats() after the terminate',
      3000,
    );
    // The interrupted commit is seen whole: it will be finished, not redone.
    expect(during.indexed).toBe(400);
    expect(during.indexed + during.pending).toBe(total);

    const second = thread({ mode: 'drain', ring, stats, control, batch: 100, pauseAtBatch: -1 });
    const done = answer<string>(second, 'the replacement drain', 10_000);
    await until(() => producer.pendingEvents() === 0, 'the replacement to drain the ring');
    producer.close();
    expect(await done).toBe('done');
    const after = await answer<{ indexed: number; pending: number }>(
      thread({ mode: 'read', ring, stats }),
      'stats() at the end',
      3000,
    );
    expect(after).toEqual({ indexed: total, spooled: 0, pending: 0 });
  });
});
