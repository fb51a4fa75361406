// The piscina task each worker thread runs for as long as the Audit lives: drain one ring shard,
// turn frames into documents, batch them by count, bytes and time, deliver, and only then release
// the ring space. It returns when the main thread closes the ring and everything is delivered.

import { type AuditDocument, type DocumentContext, IndexNamer, toDocument } from '../src/document.js';
import { decodeEvent } from '../src/event.js';
import { createClient } from '../src/opensearch/client.js';
import { RingConsumer } from '../src/ring/consumer.js';
import { Sanitizer } from '../src/sanitize.js';
import { Stat } from '../src/shared-layout.js';
import { BulkSink, type Log } from '../src/sink.js';
import { StatRow } from '../src/stats.js';
import type { DrainTask, LogMessage } from '../src/worker-types.js';

/** After a wake, wait this long before draining, so a burst costs one wake, not one per event. */
const COALESCE_MS = 2;
const IDLE_WAIT_MS = 1000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export default async function drain(task: DrainTask): Promise<{ shard: number }> {
  const { config: cfg, shard } = task;
  const log: Log = (level, msg, fields) => {
    task.port.postMessage({ type: 'log', level, msg, fields: { ...fields, shard } } satisfies LogMessage);
  };
  const consumer = new RingConsumer(task.ring);
  const stats = new StatRow(task.stats, shard);
  const ctx: DocumentContext = {
    indexPrefix: cfg.indexPrefix,
    rotation: cfg.indexRotation,
    service: cfg.serviceName,
    environment: cfg.environment,
    serviceVersion: cfg.serviceVersion,
    host: task.host,
    instance: task.instance,
    sanitizer: new Sanitizer(),
    maxBodySize: cfg.maxBodySize,
  };
  const namer = new IndexNamer(ctx);
  const sink = cfg.opensearch.url ? new BulkSink(createClient(cfg.opensearch), cfg, stats, log) : undefined;
  const intervalMs = cfg.flushIntervalSeconds * 1000;

  let batch: AuditDocument[] = [];
  let batchBytes = 0;
  let firstAt = 0;

  let undecodable = 0;

  async function flush(): Promise<void> {
    const cursor = consumer.cursor;
    const events = consumer.readEvents;
    const docs = batch;
    const dropped = undecodable;
    batch = [];
    batchBytes = 0;
    undecodable = 0;
    let indexed = 0;
    let deadLettered = 0;
    let undeliverable = docs.length;
    if (docs.length > 0 && sink) {
      const result = await sink.deliver(docs);
      indexed = result.indexed;
      deadLettered = result.deadLettered;
      undeliverable = result.failed.length;
      if (undeliverable > 0) {
        log('error', 'Events undeliverable after retries', { count: undeliverable, error: result.lastError });
      }
    }
    // Only now may the producer reuse the space: every event in it has an outcome, recorded in the
    // same step so that stats() never counts an event twice or not at all.
    consumer.commit(cursor, events, () => {
      stats.add(Stat.INDEXED, indexed);
      stats.add(Stat.DEAD_LETTERED, deadLettered);
      stats.add(Stat.DROPPED_UNDELIVERABLE, undeliverable);
      stats.add(Stat.DROPPED_DECODE, dropped);
    });
  }

  log('info', 'Audit worker started', { sink: sink ? 'opensearch' : 'none' });
  for (;;) {
    for (let frame = consumer.next(); frame; frame = consumer.next()) {
      try {
        // Copy out of shared memory before decoding: the view dies when the space is released.
        batch.push(toDocument(decodeEvent(Buffer.from(frame)), ctx, namer));
        batchBytes += frame.length;
        if (batch.length === 1) firstAt = Date.now();
      } catch (err) {
        undecodable++;
        log('error', 'Undecodable audit frame dropped', { error: (err as Error).message });
      }
      if (batch.length >= cfg.batchSize || batchBytes >= cfg.batchBytes) await flush();
    }
    const closing = consumer.closing();
    if (closing || (batch.length > 0 && Date.now() - firstAt >= intervalMs)) await flush();
    else if (batch.length === 0 && consumer.holdsUnreleased()) await flush();
    if (closing && !consumer.hasData()) break;
    const wait = batch.length > 0 ? Math.max(1, intervalMs - (Date.now() - firstAt)) : IDLE_WAIT_MS;
    await consumer.waitForData(wait);
    if (!consumer.closing()) await sleep(COALESCE_MS);
  }
  log('info', 'Audit worker finished');
  return { shard };
}
