// A thread for the commit-crash test. As 'drain' it consumes a ring the way the pipeline's worker
// does (a batch's outcome recorded in its stats row and its space released in one commit); with
// `pauseAtBatch` it stops for good in the middle of that batch's commit, after the outcome is
// counted and before the space is released, and says so, so the test can terminate it exactly there. As 'read' it takes the
// consistent snapshot the main thread's stats() takes and posts it: run in a thread, a reader that
// spins forever cannot hang the test.
import { parentPort, workerData } from 'node:worker_threads';
import { Stat } from '../../src/layout.js';
import { readCommitting, readRow, StatRow } from '../../src/metrics/stat-row.js';
import { RingConsumer } from '../../src/ring/consumer.js';
import { RingProducer } from '../../src/ring/producer.js';

const { mode, ring, stats, control, batch, pauseAtBatch } = workerData as {
  mode: 'drain' | 'read';
  ring: SharedArrayBuffer;
  stats: SharedArrayBuffer;
  /** [0]: 1 once paused inside a commit; [1]: never changes (the pause waits on it). */
  control: SharedArrayBuffer;
  batch: number;
  pauseAtBatch: number;
};
const flags = new Int32Array(control);

if (mode === 'read') {
  const producer = new RingProducer(ring);
  // As Audit.stats() reads it.
  const [row, pending] = producer.consistent((committing) => {
    if (!committing) return [readRow(stats, 0), producer.pendingEvents()] as const;
    const [after, releasedEvents] = readCommitting(stats, 0);
    return [after, producer.pendingEvents(releasedEvents)] as const;
  });
  parentPort?.postMessage({ indexed: row[Stat.INDEXED], spooled: row[Stat.SPOOLED], pending });
} else {
  // Pauses after the journaled outcome is applied to the row and before the ring space is released:
  // a worker terminated there has counted the batch without giving its frames up.
  class PausingRow extends StatRow {
    pauseNext = false;
    override apply() {
      const released = super.apply();
      if (this.pauseNext) {
        Atomics.store(flags, 0, 1);
        Atomics.wait(flags, 1, 0);
      }
      return released;
    }
  }
  const row = new PausingRow(stats, 0);
  const consumer = new RingConsumer(ring, row);
  let batches = 0;
  let inBatch = 0;
  for (;;) {
    const frame = consumer.next();
    if (frame) inBatch++;
    if (inBatch === batch || (!frame && inBatch > 0)) {
      const n = inBatch;
      inBatch = 0;
      batches++;
      row.pauseNext = batches === pauseAtBatch;
      consumer.commit(consumer.cursor, consumer.readEvents, () => {
        row.add(Stat.INDEXED, n);
        row.set(Stat.SPOOL_BYTES, 0);
      });
    }
    if (!frame && !consumer.hasData()) {
      if (consumer.closing()) break;
      await consumer.waitForData(20);
    }
  }
  parentPort?.postMessage('done');
}
