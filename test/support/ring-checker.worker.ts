// A real consumer thread for the ring tests: reads every frame, checks its bytes against the
// pattern the producer wrote, marks its sequence number in a shared tally, and releases in batches
// of random size, so release lags reading as it does in the pipeline.
import { parentPort, workerData } from 'node:worker_threads';
import { RingConsumer } from '../../src/ring/consumer.js';

const { ring, seen, done } = workerData as {
  ring: SharedArrayBuffer;
  seen: SharedArrayBuffer;
  done: SharedArrayBuffer;
};
const consumer = new RingConsumer(ring);
const tally = new Uint8Array(seen);
const doneFlag = new Int32Array(done);
let corrupt = 0;
let received = 0;
let sinceRelease = 0;
let releaseEvery = 1;

function check(frame: Uint8Array): void {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (frame.length < 4) {
    corrupt++;
    return;
  }
  const seq = view.getUint32(0, true);
  for (let i = 4; i < frame.length; i++) {
    if (frame[i] !== ((seq * 31 + i) & 255)) {
      corrupt++;
      break;
    }
  }
  const count = tally[seq] ?? 0;
  tally[seq] = count + 1;
  received++;
}

for (;;) {
  const frame = consumer.next();
  if (frame) {
    check(frame);
    if (++sinceRelease >= releaseEvery) {
      consumer.release(consumer.cursor, consumer.readEvents);
      sinceRelease = 0;
      releaseEvery = 1 + Math.floor(Math.random() * 64);
    }
    continue;
  }
  consumer.release(consumer.cursor, consumer.readEvents);
  sinceRelease = 0;
  if (Atomics.load(doneFlag, 0) === 1 && !consumer.hasData()) break;
  // Spin briefly before parking: a wake through the event loop costs tens of microseconds, and
  // this test wants throughput (the pipeline's worker coalesces by time instead).
  let spins = 0;
  while (!consumer.hasData() && spins++ < 2000) {}
  if (!consumer.hasData()) await consumer.waitForData(50);
}
parentPort?.postMessage({ corrupt, received });
