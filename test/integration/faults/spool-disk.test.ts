// The spool on a full disk (a size-limited tmpfs: a real ENOSPC). An append that fails part-way
// leaves whole records on disk that the worker has already counted as dropped (spool_error); replay
// must not deliver and count them a second time.

import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Delivery } from '../../../src/delivery/bulk-sink.js';
import { Spool } from '../../../src/spool/spool.js';
import type { AuditDocument } from '../../../src/worker/document.js';
import { tmpfs } from '../../support/mounts.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function docs(from: number, n: number, bodyBytes: number): AuditDocument[] {
  return Array.from({ length: n }, (_, i) => ({
    index: 'audit-api-2026-12-02',
    id: `id-${from + i}`,
    routing: 'org-1',
    source: { event_id: `id-${from + i}`, request_body: 'x'.repeat(bodyBytes) },
  }));
}

describe('spool on a full disk', () => {
  it('a failed append leaves nothing that replay would count again', async () => {
    const root = mkdtempSync(join(tmpdir(), 'pdaas-spool-full-'));
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    mkdirSync(join(root, 'spool'));
    cleanups.push(tmpfs(join(root, 'spool'), 64 * 1024));
    const spool = new Spool({
      root: join(root, 'spool'),
      shard: 0,
      shards: 1,
      instance: 'a1b2c3d4e5f6',
      maxBytes: 1 << 30,
    });
    await spool.init();
    const kept = docs(0, 10, 100);
    expect(await spool.append(kept)).toBe(10);
    // About 100 KB of records onto what is left of 64 KB: the write stops part-way with ENOSPC.
    await expect(spool.append(docs(10, 100, 1000))).rejects.toThrow(/ENOSPC|write stopped/);

    const delivered: AuditDocument[] = [];
    const deliver = async (batch: AuditDocument[]): Promise<Delivery> => {
      delivered.push(...batch);
      return { indexed: batch.length, deadLettered: 0, deadLetterLost: 0, failed: [] };
    };
    let ownIndexed = 0;
    for (;;) {
      const r = await spool.replayOldest(deliver, 500);
      if (!r) break;
      ownIndexed += r.ownIndexed;
    }
    await spool.close();
    expect(delivered.map((d) => d.id)).toEqual(kept.map((d) => d.id));
    expect(ownIndexed).toBe(10);
  });

  it('a spool on a full volume still starts: its lease is written later, its appends fail and are counted', async () => {
    const root = mkdtempSync(join(tmpdir(), 'pdaas-spool-full-'));
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    const dir = join(root, 'spool');
    mkdirSync(dir);
    cleanups.push(tmpfs(dir, 64 * 1024));
    mkdirSync(join(dir, 'shard-0'));
    // Fill the volume to the last byte.
    const fd = openSync(join(dir, 'ballast'), 'w');
    try {
      for (;;) writeSync(fd, Buffer.alloc(4096));
    } catch {
      // ENOSPC
    }
    closeSync(fd);
    const spool = new Spool({ root: dir, shard: 0, shards: 1, instance: 'a1b2c3d4e5f6', maxBytes: 1 << 30 });
    await spool.init();
    await expect(spool.append(docs(0, 5, 100))).rejects.toThrow(/ENOSPC|write stopped/);
    expect(await spool.segments()).toEqual([]);
    await spool.close();
  });

  it('a replay that stops part-way on a full volume keeps the segment, counts nothing twice, and finishes it next time', async () => {
    const root = mkdtempSync(join(tmpdir(), 'pdaas-spool-full-'));
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    const dir = join(root, 'spool');
    mkdirSync(dir);
    cleanups.push(tmpfs(dir, 256 * 1024));
    const spool = new Spool({ root: dir, shard: 0, shards: 1, instance: 'a1b2c3d4e5f6', maxBytes: 1 << 30 });
    await spool.init();
    const kept = docs(0, 20, 1000);
    expect(await spool.append(kept)).toBe(20);
    // Then the volume fills up (another writer, logs): a rewrite of the segment cannot be written.
    const ballast = join(dir, 'ballast');
    const fd = openSync(ballast, 'w');
    try {
      for (;;) writeSync(fd, Buffer.alloc(4096));
    } catch {
      // ENOSPC
    }
    closeSync(fd);

    const delivered: string[] = [];
    const deliver = async (batch: AuditDocument[]): Promise<Delivery> => {
      delivered.push(...batch.map((d) => d.id));
      // Delivery is idempotent: a document sent again is answered 409 and counted as indexed.
      return { indexed: batch.length, deadLettered: 0, deadLetterLost: 0, failed: [] };
    };
    // Live events keep arriving: replay is asked to stop after every batch.
    const first = await spool.replayOldest(deliver, 5, () => true);
    // The rest could not be written back: the segment stays whole, and this call counts nothing
    // (the next one delivers those 5 again, which OpenSearch answers "already there").
    expect(first).toMatchObject({ ownIndexed: 0, ownSetAside: 0, complete: false });
    expect(first?.deferred).toMatch(/ENOSPC/);
    expect(readdirSync(join(dir, 'shard-0')).filter((f) => f.endsWith('.bad'))).toEqual([]);
    expect(spool.ownPending()).toBe(20);
    // Not again at once: the next attempt waits, so a full volume does not make replay spin.
    expect(await spool.replayOldest(deliver, 5, () => true)).toBeUndefined();
    await new Promise((r) => setTimeout(r, 1100));
    // Next time it does not stop part-way (a rewrite would fail again): it delivers the segment
    // whole and deletes it, which needs no space.
    const second = await spool.replayOldest(deliver, 5, () => true);
    expect(second).toMatchObject({ ownIndexed: 20, ownSetAside: 0, complete: true });
    expect(spool.ownPending()).toBe(0);
    expect(await spool.segments()).toEqual([]);
    expect(new Set(delivered)).toEqual(new Set(kept.map((d) => d.id)));
    unlinkSync(ballast);
    await spool.close();
  });
});
