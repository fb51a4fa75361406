// The piscina task each worker thread runs for as long as the Audit lives: drain one ring shard,
// turn frames into documents, batch them by count, bytes and time, deliver them to OpenSearch or,
// when it fails (or none is configured), to the durable spool, and only then release the ring
// space. Between batches it replays the spool while the breaker is closed. It returns when the
// main thread closes the ring and everything read is delivered or spooled.

import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { signingKeyFromPem } from '../chain/checkpoint.js';
import { Checkpointer } from '../chain/checkpointer.js';
import { HeadTable } from '../chain/heads.js';
import { readPredecessors, writeHeads } from '../chain/links.js';
import { ChainSequencer } from '../chain/sequencer.js';
import { Breaker } from '../delivery/breaker.js';
import { BulkSink, type Log } from '../delivery/bulk-sink.js';
import { decodeEvent } from '../event.js';
import { CHAIN_HEAD_SLOTS, Durability, eventsPerShard, Stat } from '../layout.js';
import { readRow, StatRow } from '../metrics/stat-row.js';
import { createClient } from '../opensearch/client.js';
import { Sanitizer } from '../redact/sanitizer.js';
import { RingConsumer } from '../ring/consumer.js';
import { Spool } from '../spool/spool.js';
import { type AuditDocument, type DocumentContext, IndexNamer, toDocument } from './document.js';
import { DurabilityWatch } from './durability.js';
import type { DrainTask, DurableMessage, LogMessage } from './task.js';

/** After a wake, wait this long before draining, so a burst costs one wake, not one per event. */
const COALESCE_MS = 2;
const IDLE_WAIT_MS = 1000;
/**
 * While events keep coming (one seen in the last ACTIVE_MS), poll every COALESCE_MS instead of
 * parking: a parked consumer makes the request path pay a futex wake (Atomics.notify, several µs
 * in a VM) for the next event. Below ~10 events/s the worker parks between them (a wake per event
 * costs nothing there), so a quiet app does not keep a thread polling.
 */
const ACTIVE_MS = 100;
/**
 * Past this fill of the ring, batches go to the spool instead of OpenSearch: when OpenSearch takes
 * events slower than requests bring them, the ring would fill and new events would be dropped,
 * while the local disk takes them several times faster. Replay returns them once the ring is calm.
 */
const SPILL_AT = 0.5;
/**
 * Once spilling, batches keep going to the spool until what waits behind the batch in hand is
 * below this fill: turning back to OpenSearch at just under SPILL_AT would send the slow path
 * batch after batch while the ring sits at half full, and on a machine the OpenSearch JVM shares,
 * each of those bulks takes the CPU the spill needs to keep up (the ring then fills and drops
 * events in a spike).
 */
const SPILL_UNTIL = 0.05;
const SPILL_BATCH_SCALE = 10;
/** After the spool refused an append, batches are not spilled to it for this long. */
const SPOOL_RETRY_MS = 1000;
/**
 * Past this fill, a bulk request still in flight is given up and its batch spooled: one answer that
 * OpenSearch holds for seconds (a merge, a GC pause, a recovering shard) would otherwise let the
 * ring fill behind it and drop new events, since the worker delivers one batch at a time. What
 * OpenSearch applied anyway comes back from the spool as 409s.
 */
const ABANDON_AT = 0.75;
/** How often the fill is looked at while a bulk request is out. */
const WATCH_MS = 20;

export default async function drain(task: DrainTask): Promise<{ shard: number }> {
  const { config: cfg, shard } = task;
  const log: Log = (level, msg, fields) => {
    task.port.postMessage({ type: 'log', level, msg, fields: { ...fields, shard } } satisfies LogMessage);
  };
  const stats = new StatRow(task.stats, shard);
  // The stats row is the commit journal: a commit a terminated worker left unfinished is finished here.
  const consumer = new RingConsumer(task.ring, stats);
  const ctx: DocumentContext = {
    indexPrefix: cfg.indexPrefix,
    rotation: cfg.indexRotation,
    service: cfg.serviceName,
    environment: cfg.environment,
    serviceVersion: cfg.serviceVersion,
    host: task.host,
    instance: task.instance,
    sanitizer: new Sanitizer({ secretKeys: cfg.redactKeys, secretPatterns: cfg.redactPatterns }),
    maxBodySize: cfg.maxBodySize,
  };
  const namer = new IndexNamer(ctx);
  // One chain per organization for this process's shard, going on from the heads of the shard's
  // last finished commit (a terminated predecessor's, or none).
  const instanceHex = Buffer.from(task.instance).toString('hex');
  const chain = new ChainSequencer(
    new HeadTable(task.chainHeads, shard),
    `${instanceHex}-${shard}`,
    readRow(task.stats, shard)[Stat.CHAIN_COMMIT] ?? 0,
    await readPredecessors(cfg.spoolDir, instanceHex),
  );
  /** Records where the chains stand for the next process on this spool folder (links.ts). */
  let headsFailing = false;
  const recordHeads = async () => {
    try {
      await writeHeads(cfg.spoolDir, chain.chainId, chain.heads());
      headsFailing = false;
    } catch (err) {
      // Said once until it works again: a full or read-only volume fails every round.
      if (headsFailing) return;
      headsFailing = true;
      log(
        'warn',
        'Chain heads could not be written to the spool folder: the next process starts unlinked chains',
        {
          error: (err as Error).message,
        },
      );
    }
  };
  let unchained = 0;
  let overflowLogged = false;
  const breaker = new Breaker(
    task.breaker,
    task.createdAt,
    cfg.breakerFailures,
    cfg.breakerCooldownSeconds * 1000,
    { requestTimeoutMs: cfg.opensearch.timeoutSeconds * 1000 },
  );
  const sink = cfg.opensearch.url
    ? new BulkSink(createClient(cfg.opensearch), cfg, stats, log, breaker)
    : undefined;
  // The key file was checked when the options were resolved; read here, it never crosses threads.
  const checkpointer = new Checkpointer({
    sequencer: chain,
    intervalMs: cfg.checkpointIntervalSeconds * 1000,
    indexPrefix: cfg.indexPrefix,
    replicas: cfg.indexReplicas,
    requestTimeoutMs: cfg.opensearch.timeoutSeconds * 1000,
    client: sink?.client,
    allow: () => breaker.ready(),
    dir: cfg.checkpointDir,
    signingKey: loadSigningKey(cfg.signingKeyFile, log),
    log,
  });
  const spool = new Spool({
    root: cfg.spoolDir,
    shard,
    shards: cfg.workers,
    instance: Buffer.from(task.instance).toString('hex'),
    maxBytes: Math.floor(cfg.spoolMaxBytes / cfg.workers),
  });
  try {
    // Where the spool stood at this shard's last commit (all zero before the first one): a worker
    // killed after an append and before its commit left records past it, which go again.
    const row = readRow(task.stats, shard);
    await spool.init({
      ms: row[Stat.SPOOL_AT_MS] ?? 0,
      counter: row[Stat.SPOOL_AT_COUNTER] ?? 0,
      bytes: row[Stat.SPOOL_AT_BYTES] ?? 0,
    });
  } catch (err) {
    // An unusable spool folder must not kill the drain (it would be restarted and fail again while
    // the ring fills): appends then fail and are counted as spool_error.
    log('error', 'Spool folder unusable', { dir: cfg.spoolDir, error: (err as Error).message });
  }
  stats.set(Stat.SPOOL_BYTES, spool.bytes);
  // Closed mode only: open mode reads no durability, so it pays for no probe.
  const durability = task.durability
    ? new DurabilityWatch({
        cells: task.durability,
        shard,
        spoolDir: spool.dir,
        spoolMaxBytes: Math.floor(cfg.spoolMaxBytes / cfg.workers),
        spoolBytes: () => spool.bytes,
        client: sink?.client,
        breaker,
        pingTimeoutMs: Math.min(2000, cfg.opensearch.timeoutSeconds * 1000),
      })
    : undefined;
  await durability?.probe();
  const intervalMs = cfg.flushIntervalSeconds * 1000;
  /** The longest a bulk request holding an intent may take before its batch goes to the spool. */
  const intentBulkMs = Math.max(1, Math.floor(cfg.durableTimeoutMs / 2));
  const maxEvents = eventsPerShard(cfg.maxQueueSize, cfg.workers);
  let spilling = false;
  /** When the spool last refused an append (full or unwritable); 0 when it never did. */
  let spoolRefusedAt = 0;

  let batch: AuditDocument[] = [];
  let batchBytes = 0;
  let firstAt = 0;
  let undecodable = 0;
  /** Intents (durable routes) in the batch: a handler waits for each, so the batch goes at once. */
  let intents = 0;
  /** Events delivered by the replay run under way (from the first delivered to an empty spool), or undefined. */
  let replayRun: number | undefined;

  /** Logged once per filling of the ring, not per abandoned request. */
  let abandonLogged = false;

  /**
   * Runs `send` (a delivery, or a replay) with a signal that aborts once the ring passes
   * ABANDON_AT; the first abandonment of each filling of the ring is logged.
   */
  async function watchingRing<T>(send: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const ac = new AbortController();
    const timer = setInterval(() => {
      if (ac.signal.aborted || consumer.fill(maxEvents) < ABANDON_AT) return;
      ac.abort();
      if (abandonLogged) return;
      abandonLogged = true;
      log(
        'warn',
        'Ring three quarters full while OpenSearch was answering: the request in flight is given up and its batch spooled',
      );
    }, WATCH_MS);
    try {
      return await send(ac.signal);
    } finally {
      clearInterval(timer);
    }
  }

  /** Writes what OpenSearch did not take to the spool; returns [spooled, full, failed to write]. */
  async function toSpool(docs: AuditDocument[]): Promise<[number, number, number]> {
    if (docs.length === 0) return [0, 0, 0];
    try {
      const written = await spool.append(docs);
      if (written < docs.length) {
        log('error', 'Spool full: events dropped', { count: docs.length - written });
        spoolRefusedAt = Date.now();
      }
      durability?.appended(written < docs.length ? Durability.SPOOL_FULL : Durability.KEEPS);
      return [written, docs.length - written, 0];
    } catch (err) {
      log('error', 'Spool write failed: events dropped', {
        count: docs.length,
        error: (err as Error).message,
      });
      durability?.appended(Durability.SPOOL_ERROR);
      spoolRefusedAt = Date.now();
      return [0, 0, docs.length];
    }
  }

  /**
   * Tells the main thread which intents of a commit are durable (kept) and which are not (lost):
   * a durable route's handler waits for this. Sent after the commit, so stats() already counts them.
   */
  function reportIntents(docs: AuditDocument[], notKept: AuditDocument[]): void {
    const lost = new Set(notKept);
    const message: DurableMessage = { type: 'durable', kept: [], lost: [] };
    for (const doc of docs) {
      if (doc.source.phase !== 'received') continue;
      (lost.has(doc) ? message.lost : message.kept).push(doc.id);
    }
    task.port.postMessage(message);
  }

  async function flush(): Promise<void> {
    const cursor = consumer.cursor;
    const events = consumer.readEvents;
    const docs = batch;
    const dropped = undecodable;
    const hadIntents = intents > 0;
    batch = [];
    batchBytes = 0;
    undecodable = 0;
    intents = 0;
    let indexed = 0;
    let deadLettered = 0;
    let deadLetterLost = 0;
    let failed = docs;
    let refused: AuditDocument[] = [];
    // Spilling goes on while what waits behind this batch is more than SPILL_UNTIL of the ring. A
    // spool that refused its last append (full, unwritable) is not spilled to for a second: the
    // batch would be dropped where OpenSearch, slower, would have kept it.
    const fill = spilling ? consumer.backlog(maxEvents) : consumer.fill(maxEvents);
    const spoolTakes = Date.now() - spoolRefusedAt >= SPOOL_RETRY_MS;
    const spill = sink !== undefined && spoolTakes && fill >= (spilling ? SPILL_UNTIL : SPILL_AT);
    if (spill !== spilling) {
      spilling = spill;
      if (spill) log('warn', 'Ring over half full: spilling batches to the spool until it drains');
      else if (!spoolTakes)
        log('warn', 'Spool refusing appends: batches go to OpenSearch instead of spilling', {
          backlog: Number(fill.toFixed(3)),
        });
      else {
        abandonLogged = false;
        log('info', 'Ring drained: batches go to OpenSearch again', { backlog: Number(fill.toFixed(3)) });
      }
    }
    if (docs.length > 0 && sink && !spill) {
      // A handler waits on each intent: a failed attempt goes to the spool (synced, so durable)
      // at once instead of through the retry backoff, and a request OpenSearch has not answered
      // within half of AUDIT_DURABLE_TIMEOUT_MS is given up the same way (an abandoned request,
      // not the cluster's failure); the spool replays them later, and what was applied is a 409.
      const result = await watchingRing((signal) =>
        sink.deliver(
          docs,
          hadIntents
            ? { signal: AbortSignal.any([signal, AbortSignal.timeout(intentBulkMs)]), retries: 0 }
            : { signal },
        ),
      );
      indexed = result.indexed;
      deadLettered = result.deadLettered;
      deadLetterLost = result.deadLetterLost;
      failed = result.failed;
      refused = result.refused ?? [];
      durability?.delivered(result.failed.length < docs.length);
    }
    const [spooled, full, unwritable] = await toSpool(failed);
    // Positions that will stay empty: refused for good, or not spooled (the spool keeps a prefix).
    for (const doc of refused) chain.void(doc.source);
    for (const doc of failed.slice(spooled)) chain.void(doc.source);
    // The heads these documents moved, stamped with the commit that makes them count.
    const chainCommit = chain.stage();
    const overflow = unchained;
    unchained = 0;
    // Only now may the producer reuse the space: every event in it has an outcome (in OpenSearch,
    // in the dead-letter file, synced in the spool, or counted as dropped), recorded in the same
    // step so that stats() never counts an event twice or not at all.
    consumer.commit(cursor, events, () => {
      stats.add(Stat.INDEXED, indexed);
      stats.add(Stat.DEAD_LETTERED, deadLettered);
      stats.add(Stat.DROPPED_DEAD_LETTER, deadLetterLost);
      stats.add(Stat.SPOOLED, spooled);
      stats.add(Stat.DROPPED_SPOOL_FULL, full);
      stats.add(Stat.DROPPED_SPOOL_ERROR, unwritable);
      stats.add(Stat.DROPPED_DECODE, dropped);
      stats.set(Stat.SPOOL_BYTES, spool.bytes);
      const at = spool.position();
      stats.set(Stat.SPOOL_AT_MS, at.ms);
      stats.set(Stat.SPOOL_AT_COUNTER, at.counter);
      stats.set(Stat.SPOOL_AT_BYTES, at.bytes);
      stats.add(Stat.CHAIN_OVERFLOW, overflow);
      if (chainCommit !== undefined) stats.set(Stat.CHAIN_COMMIT, chainCommit);
    });
    if (chainCommit !== undefined) chain.committed(chainCommit);
    if (hadIntents) reportIntents(docs, [...refused, ...failed.slice(spooled)]);
  }

  /** Replays one spool segment if OpenSearch is healthy; true when there may be more to replay. */
  async function replay(): Promise<boolean> {
    // Live events come first: no replay while the ring is more than a quarter full.
    if (!sink || consumer.fill(maxEvents) >= SPILL_AT / 2 || !breaker.ready()) return false;
    // An empty spool still looks now and then: another process on the folder may have left segments.
    if (spool.bytes === 0 && (await spool.rescan()) === 0) return false;
    const spoolBytes = spool.bytes;
    // No retry backoff inside a replay, and a stop between batches once live events wait: the spool
    // keeps what is not delivered, and live events never sit behind a whole segment's delivery.
    const r = await watchingRing((signal) =>
      spool.replayOldest(
        async (docs) => {
          const d = await sink.deliver(docs, { retries: 0, signal });
          for (const doc of d.refused ?? []) chain.void(doc.source);
          return d;
        },
        cfg.batchSize,
        () => consumer.hasData(),
      ),
    );
    if (!r) return false;
    if (r.ownIndexed + r.foreignIndexed > 0) durability?.delivered(true);
    consumer.record(() => {
      stats.add(Stat.INDEXED, r.ownIndexed);
      stats.add(Stat.DEAD_LETTERED, r.ownDeadLettered);
      stats.add(Stat.DROPPED_DEAD_LETTER, r.ownDeadLetterLost);
      stats.add(Stat.DROPPED_SPOOL_ERROR, r.ownSetAside);
      stats.add(
        Stat.UNSPOOLED,
        r.ownIndexed + r.ownDeadLettered + r.ownDeadLetterLost + r.ownLost + r.ownSetAside,
      );
      stats.add(Stat.DROPPED_SPOOL_CORRUPT, r.ownLost);
      stats.add(Stat.REPLAYED, r.ownIndexed + r.foreignIndexed);
      stats.add(Stat.RECOVERED, r.foreignIndexed + r.foreignDeadLettered);
      stats.add(Stat.SPOOL_CORRUPT_TAILS, r.corruptTails);
      stats.set(Stat.SPOOL_BYTES, spool.bytes);
    });
    if (r.deferred !== undefined)
      log(
        'warn',
        'Spool segment could not be rewritten (volume full or read-only); kept whole, replayed again shortly',
        {
          error: r.deferred,
        },
      );
    if (r.error !== undefined)
      log('error', 'Spool segment could not be replayed; set aside as .seg.bad', {
        error: r.error,
        dropped: r.ownSetAside,
      });
    if (r.foreignDeadLetterLost > 0)
      log('error', "An earlier process's spooled events were refused and could not be dead-lettered", {
        count: r.foreignDeadLetterLost,
      });
    if (r.corruptTails > 0)
      log('warn', 'Spool segment had a torn or corrupt tail; skipped it', { lost: r.ownLost });
    if (r.ownIndexed + r.foreignIndexed > 0) {
      // A run starts with its first delivered batch: a replay tried while OpenSearch is still down
      // (the breaker's probe) is no start.
      if (replayRun === undefined) {
        replayRun = 0;
        log('info', 'Spool replay started', { spoolBytes });
      }
      replayRun += r.ownIndexed + r.foreignIndexed;
      log('info', 'Spool replayed', { events: r.ownIndexed + r.foreignIndexed, complete: r.complete });
    }
    if (replayRun !== undefined && spool.bytes === 0) {
      log('info', 'Spool replay finished', { events: replayRun });
      replayRun = undefined;
    }
    return r.complete;
  }

  log('info', 'Audit worker started', { sink: sink ? 'opensearch' : 'spool', spoolBytes: spool.bytes });
  let lastFrameAt = 0;
  for (;;) {
    for (let frame = consumer.next(); frame; frame = consumer.next()) {
      lastFrameAt = Date.now();
      try {
        // decodeEvent copies the frame first: nothing built here refers to the ring space, whose
        // view dies when the space is released.
        const doc = toDocument(decodeEvent(frame), ctx, namer, chain);
        if (doc.source.chain_hash === undefined) unchained++;
        if (doc.source.phase === 'received') intents++;
        batch.push(doc);
        batchBytes += frame.length;
        if (batch.length === 1) firstAt = Date.now();
      } catch (err) {
        undecodable++;
        log('error', 'Undecodable audit frame dropped', { error: (err as Error).message });
      }
      // Spilling, a batch is one spool append (one datasync): larger batches keep the spool ahead
      // of the requests even when the disk syncs slowly.
      const scale = spilling ? SPILL_BATCH_SCALE : 1;
      if (unchained > 0 && !overflowLogged) {
        overflowLogged = true;
        log(
          'error',
          'Chain-head table full: events of further organizations are stored without a hash chain',
          {
            organizations: CHAIN_HEAD_SLOTS,
          },
        );
      }
      if (batch.length >= cfg.batchSize * scale || batchBytes >= cfg.batchBytes * scale) await flush();
    }
    const closing = consumer.closing();
    if (closing || intents > 0 || (batch.length > 0 && Date.now() - firstAt >= intervalMs)) await flush();
    else if (batch.length === 0 && consumer.holdsUnreleased()) await flush();
    if (closing && !consumer.hasData()) break;
    // Between commits (nothing read and not committed), the chain heads are the committed ones.
    if (batch.length === 0 && !consumer.holdsUnreleased() && checkpointer.due()) {
      await checkpointer.run();
      await recordHeads();
    }
    if (durability) await durability.maybeProbe();
    if (batch.length === 0 && (await replay())) continue;
    if (Date.now() - lastFrameAt < ACTIVE_MS) {
      await sleep(COALESCE_MS);
      continue;
    }
    const wait = batch.length > 0 ? Math.max(1, intervalMs - (Date.now() - firstAt)) : IDLE_WAIT_MS;
    await consumer.waitForData(wait);
    if (!consumer.closing()) await sleep(COALESCE_MS);
  }
  // The last checkpoint of every chain, at close.
  await checkpointer.run(new Date(), true);
  await recordHeads();
  await spool.close();
  log('info', 'Audit worker finished');
  return { shard };
}

/**
 * The checkpoint signing key. Checked when the options were resolved; a file gone or changed since
 * must not stop the drain (it would be restarted and fail again): checkpoints are then unsigned.
 */
function loadSigningKey(
  file: string | undefined,
  log: Log,
): ReturnType<typeof signingKeyFromPem> | undefined {
  if (!file) return undefined;
  try {
    return signingKeyFromPem(readFileSync(file, 'utf8'));
  } catch (err) {
    log('error', 'Signing key unreadable: checkpoints are written unsigned', {
      file,
      error: (err as Error).message,
    });
    return undefined;
  }
}
