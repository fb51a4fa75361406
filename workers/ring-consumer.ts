// A ring consumer thread for the throughput benchmark: read every frame, release in batches of 64.
import { parentPort, workerData } from 'node:worker_threads';
import { RingConsumer } from '../src/ring/consumer.js';

const { ring, done } = workerData as { ring: SharedArrayBuffer; done: SharedArrayBuffer };
const consumer = new RingConsumer(ring);
const doneFlag = new Int32Array(done);
let count = 0;
for (;;) {
  let n = 0;
  for (let f = consumer.next(); f; f = consumer.next()) {
    count++;
    if (++n === 64) {
      consumer.release(consumer.cursor, consumer.readEvents);
      n = 0;
    }
  }
  consumer.release(consumer.cursor, consumer.readEvents);
  if (Atomics.load(doneFlag, 0) === 1 && !consumer.hasData()) break;
  if (!consumer.hasData()) await consumer.waitForData(5);
}
parentPort?.postMessage(count);
