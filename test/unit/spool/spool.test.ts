import { mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Delivery } from '../../../src/delivery/bulk-sink.js';
import { OpenFile, withFile, writeFully } from '../../../src/spool/files.js';
import { decodeRecords, encodeRecords } from '../../../src/spool/records.js';
import { Spool, type SpoolOptions } from '../../../src/spool/spool.js';
import type { AuditDocument } from '../../../src/worker/document.js';
import { doc, docs } from '../../support/audit-documents.js';

/** A fake `deliver` that indexes everything and records each batch it saw. */
function recorder(fail?: (batch: AuditDocument[], call: number) => AuditDocument[]) {
  const batches: AuditDocument[][] = [];
  const deliver = async (batch: AuditDocument[]): Promise<Delivery> => {
    batches.push(batch);
    const failed = fail?.(batch, batches.length - 1) ?? [];
    return { indexed: batch.length - failed.length, deadLettered: 0, deadLetterLost: 0, failed };
  };
  return { batches, deliver, seen: () => batches.flat() };
}

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'audit-spool-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const spools: Spool[] = [];
afterEach(async () => {
  for (const s of spools.splice(0)) await s.close();
});

async function makeSpool(opts: Partial<SpoolOptions> = {}): Promise<Spool> {
  const s = new Spool({ root, shard: 0, shards: 1, instance: 'a1b2c3d4e5f6', maxBytes: 1 << 30, ...opts });
  spools.push(s);
  await s.init();
  return s;
}

async function fileBytes(s: Spool): Promise<number> {
  let n = 0;
  for (const f of await s.segments()) n += (await stat(f)).size;
  return n;
}

const recordBytes = (d: AuditDocument[]) => encodeRecords(d).reduce((n, r) => n + r.length, 0);

describe('writeFully', () => {
  it('keeps writing after short writes until every byte is in place', async () => {
    const got: number[] = [];
    // A file that takes at most 3 bytes per call, like a write interrupted by a full disk.
    const write = async (buf: Uint8Array, offset: number, length: number) => {
      const n = Math.min(3, length);
      got.push(...buf.subarray(offset, offset + n));
      return n;
    };
    const data = Uint8Array.from({ length: 20 }, (_, i) => i);
    await writeFully(write, data);
    expect(got).toEqual([...data]);
  });

  it('fails instead of spinning when a write takes nothing', async () => {
    await expect(writeFully(async () => 0, new Uint8Array(5))).rejects.toThrow(/stopped after 0 of 5 bytes/);
  });
});

describe('OpenFile', () => {
  it('refuses any use once closed: its descriptor number may belong to another file by then', async () => {
    const path = join(root, 'closed.bin');
    const file = new OpenFile(path, 'w');
    await file.writeAll(Buffer.from('abc'));
    file.close();
    file.close(); // again: a no-op
    await expect(file.writeAll(Buffer.from('x'))).rejects.toMatchObject({ code: 'EBADF' });
    await expect(file.datasync()).rejects.toMatchObject({ code: 'EBADF' });
    await expect(file.readAll()).rejects.toMatchObject({ code: 'EBADF' });
    expect(await withFile(path, 'r', (f) => f.readAll())).toEqual(Buffer.from('abc'));
  });

  it("withFile throws the work's error, and closes the file", async () => {
    let used: OpenFile | undefined;
    const failure = Object.assign(new Error('no space left'), { code: 'ENOSPC' });
    await expect(
      withFile(join(root, 'work.bin'), 'w', async (f) => {
        used = f;
        throw failure;
      }),
    ).rejects.toBe(failure);
    await expect(used?.sync()).rejects.toMatchObject({ code: 'EBADF' });
  });
});

describe('Spool append and segments', () => {
  it('appended records survive into a new Spool instance, whose init() measures them', async () => {
    const a = await makeSpool();
    expect(a.bytes).toBe(0);
    const first = docs(0, 5);
    const second = docs(5, 3);
    expect(await a.append(first)).toBe(5);
    expect(await a.append(second)).toBe(3);
    expect(a.bytes).toBe(recordBytes([...first, ...second]));
    expect(a.ownPending()).toBe(8);
    await a.close();

    const b = await makeSpool({ instance: '0f0e0d0c0b0a' });
    expect(b.bytes).toBe(a.bytes);
    expect(b.ownPending()).toBe(0);
    const segs = await b.segments();
    expect(segs).toHaveLength(1);
    expect(basename(segs[0] as string)).toMatch(/^\d{13}-a1b2c3d4e5f6-\d{6}\.seg$/);
    expect(decodeRecords(await readFile(segs[0] as string))).toStrictEqual({
      docs: [...first, ...second],
      corruptTail: false,
    });
  });

  it('creates its shard folder on init', async () => {
    const s = await makeSpool({ shard: 2, shards: 3 });
    expect(s.dir).toBe(join(root, 'shard-2'));
    expect((await stat(s.dir)).isDirectory()).toBe(true);
    expect(await s.segments()).toEqual([]);
  });

  it('lists the segments of every shard folder it replays, oldest first, ignoring other files', async () => {
    const names: Record<number, string[]> = {
      0: ['0000000000300-aaaaaaaaaaaa-000001.seg'],
      1: ['0000000000400-bbbbbbbbbbbb-000002.seg', '0000000000100-bbbbbbbbbbbb-000001.seg'],
      2: ['0000000000050-cccccccccccc-000001.seg'],
      3: ['0000000000200-dddddddddddd-000001.seg', '0000000000500-dddddddddddd-000001.seg'],
    };
    let total = 0;
    const expectedBytes: Record<number, number> = { 0: 0, 1: 0 };
    for (const [shard, files] of Object.entries(names)) {
      await mkdir(join(root, `shard-${shard}`));
      for (const [i, f] of files.entries()) {
        const content = Buffer.concat(encodeRecords(docs(total, i + 1)));
        total += i + 1;
        await writeFile(join(root, `shard-${shard}`, f), content);
        expectedBytes[Number(shard) % 2] = (expectedBytes[Number(shard) % 2] ?? 0) + content.length;
      }
      // Not segments: a leftover temp file and a stray file.
      await writeFile(join(root, `shard-${shard}`, 'x.seg.tmp'), 'junk');
      await writeFile(join(root, `shard-${shard}`, 'notes.txt'), 'junk');
    }
    await writeFile(join(root, 'shard-9'), 'a file, not a folder');
    await mkdir(join(root, 'dead-letter'));

    const s = await makeSpool({ shard: 1, shards: 2 });
    expect(await s.segments()).toEqual([
      join(root, 'shard-1', '0000000000100-bbbbbbbbbbbb-000001.seg'),
      join(root, 'shard-3', '0000000000200-dddddddddddd-000001.seg'),
      join(root, 'shard-1', '0000000000400-bbbbbbbbbbbb-000002.seg'),
      join(root, 'shard-3', '0000000000500-dddddddddddd-000001.seg'),
    ]);
    expect(s.bytes).toBe(expectedBytes[1]);

    const s0 = await makeSpool({ shard: 0, shards: 2, instance: '111111111111' });
    expect(await s0.segments()).toEqual([
      join(root, 'shard-2', '0000000000050-cccccccccccc-000001.seg'),
      join(root, 'shard-0', '0000000000300-aaaaaaaaaaaa-000001.seg'),
    ]);
    expect(s0.bytes).toBe(expectedBytes[0]);
  });

  it('lists nothing when the root does not exist', async () => {
    const s = new Spool({ root: join(root, 'missing'), shard: 0, shards: 1, instance: 'ab', maxBytes: 100 });
    expect(await s.segments()).toEqual([]);
  });

  it('appends only what fits under maxBytes and writes nothing beyond the cap', async () => {
    const batch = docs(0, 10);
    const sizes = encodeRecords(batch).map((r) => r.length);
    const cap = (sizes[0] as number) + (sizes[1] as number) + (sizes[2] as number) + 1;
    const s = await makeSpool({ maxBytes: cap });
    expect(await s.append(batch)).toBe(3);
    expect(s.bytes).toBe(cap - 1);
    expect(await fileBytes(s)).toBe(cap - 1);
    // Full: nothing more is written, not even a partial record.
    expect(await s.append(docs(10, 1))).toBe(0);
    expect(await s.append([])).toBe(0);
    expect(s.bytes).toBe(cap - 1);
    expect(await fileBytes(s)).toBe(cap - 1);
    expect(s.ownPending()).toBe(3);

    // Replay frees the space; later appends succeed.
    const r = recorder();
    expect((await s.replayOldest(r.deliver, 100))?.complete).toBe(true);
    expect(r.seen()).toStrictEqual(batch.slice(0, 3));
    expect(s.bytes).toBe(0);
    expect(await s.append(batch.slice(3))).toBe(3);
    expect(s.bytes).toBe(await fileBytes(s));
    expect(s.bytes).toBeLessThanOrEqual(cap);
  });

  it('counts bytes left by earlier processes against the cap', async () => {
    const a = await makeSpool();
    const first = docs(0, 2);
    await a.append(first);
    await a.close();
    const b = await makeSpool({ instance: 'ffffffffffff', maxBytes: recordBytes(first) + 1 });
    expect(await b.append(docs(2, 1))).toBe(0);
  });
});

describe('Spool.replayOldest', () => {
  it('returns undefined when nothing is spooled', async () => {
    const s = await makeSpool();
    const r = recorder();
    expect(await s.replayOldest(r.deliver, 10)).toBeUndefined();
    expect(r.batches).toHaveLength(0);
  });

  it('delivers in order in batches of batchSize and deletes the segment; own events count as own', async () => {
    const s = await makeSpool();
    const all = docs(0, 7);
    await s.append(all.slice(0, 4));
    await s.append(all.slice(4));
    const r = recorder();
    const res = await s.replayOldest(r.deliver, 3);
    expect(r.batches.map((b) => b.length)).toEqual([3, 3, 1]);
    expect(r.seen()).toStrictEqual(all);
    expect(res).toStrictEqual({
      ownIndexed: 7,
      ownDeadLettered: 0,
      ownDeadLetterLost: 0,
      ownLost: 0,
      foreignIndexed: 0,
      foreignDeadLettered: 0,
      foreignDeadLetterLost: 0,
      corruptTails: 0,
      ownSetAside: 0,
      complete: true,
    });
    expect(await s.segments()).toEqual([]);
    expect(await readdir(s.dir)).toEqual([]);
    expect(s.bytes).toBe(0);
    expect(s.ownPending()).toBe(0);
    expect(await s.replayOldest(r.deliver, 3)).toBeUndefined();
  });

  it('counts indexed and dead-lettered separately', async () => {
    const s = await makeSpool();
    await s.append(docs(0, 4));
    const res = await s.replayOldest(
      async (batch) => ({ indexed: batch.length - 1, deadLettered: 1, deadLetterLost: 0, failed: [] }),
      2,
    );
    expect(res).toMatchObject({ ownIndexed: 2, ownDeadLettered: 2, complete: true });
  });

  it('counts events refused with no dead-letter file apart, and still removes them from the spool', async () => {
    const s = await makeSpool();
    await s.append(docs(0, 4));
    const res = await s.replayOldest(
      async (batch) => ({ indexed: batch.length - 1, deadLettered: 0, deadLetterLost: 1, failed: [] }),
      2,
    );
    expect(res).toMatchObject({ ownIndexed: 2, ownDeadLettered: 0, ownDeadLetterLost: 2, complete: true });
    expect(s.ownPending()).toBe(0);
  });

  it('a restarted worker of the same process counts its own segments as its own, not recovered', async () => {
    // The first drain task dies (its Spool object is gone); piscina's replacement makes a new one
    // with the same process instance.
    const first = await makeSpool();
    await first.append(docs(0, 5));
    await first.close();
    const second = await makeSpool();
    expect(second.ownPending()).toBe(5);
    const r = recorder();
    const res = await second.replayOldest(r.deliver, 10);
    expect(res).toMatchObject({ ownIndexed: 5, foreignIndexed: 0, complete: true });
    expect(second.ownPending()).toBe(0);
  });

  it('sets an unreadable segment aside and counts its own events as dropped, instead of failing every cycle', async () => {
    const s = await makeSpool();
    await s.append(docs(0, 3));
    const [good] = await s.segments();
    // A segment that cannot be read (EISDIR here; EACCES or EIO in production), older than the good one.
    await mkdir(join(s.dir, `0000000000001-${'a1b2c3d4e5f6'}-000001.seg`));
    await s.close();
    const again = await makeSpool();
    const r = recorder();
    const first = await again.replayOldest(r.deliver, 10);
    expect(first).toMatchObject({ complete: false, ownIndexed: 0 });
    expect(first?.error).toMatch(/EISDIR/);
    // Set aside: the next replay goes on with the good segment.
    const second = await again.replayOldest(r.deliver, 10);
    expect(second).toMatchObject({ ownIndexed: 3, complete: true });
    expect(await again.segments()).toEqual([]);
    expect(good).toBeDefined();
  });

  it('a rewrite that cannot be written keeps what was delivered counted and sets the segment aside', async () => {
    const s = await makeSpool();
    await s.append(docs(0, 6));
    const [segment] = await s.segments();
    // The rewrite's temp file cannot be created (EISDIR; ENOSPC or EROFS in production).
    await mkdir(`${segment}.tmp`);
    const r = recorder((batch, call) => (call === 1 ? batch : []));
    const res = await s.replayOldest(r.deliver, 2);
    expect(res).toMatchObject({ ownIndexed: 2, ownSetAside: 4, complete: false });
    expect(res?.error).toMatch(/EISDIR/);
    expect(s.ownPending()).toBe(0);
    expect(await s.segments()).toEqual([]);
    expect(await s.replayOldest(r.deliver, 2)).toBeUndefined();
  });

  it('stops between batches when told live events wait, keeping the rest spooled and counted', async () => {
    const s = await makeSpool();
    await s.append(docs(0, 6));
    const r = recorder();
    const first = await s.replayOldest(r.deliver, 2, () => true);
    expect(first).toMatchObject({ ownIndexed: 2, complete: false });
    expect(first?.error).toBeUndefined();
    expect(s.ownPending()).toBe(4);
    const rest = await s.replayOldest(r.deliver, 2);
    expect(rest).toMatchObject({ ownIndexed: 4, complete: true });
    expect(r.seen().map((d) => d.id)).toEqual(docs(0, 6).map((d) => d.id));
    expect(s.ownPending()).toBe(0);
  });

  it('a restarted worker cuts off what was appended after the last commit (its frames are read again)', async () => {
    const first = await makeSpool();
    await first.append(docs(0, 3));
    const committed = first.position();
    // Appended and synced, but the worker was killed before its commit: not counted as spooled.
    await first.append(docs(3, 2));
    await first.close();
    const second = new Spool({ root, shard: 0, shards: 1, instance: 'a1b2c3d4e5f6', maxBytes: 1 << 30 });
    spools.push(second);
    await second.init(committed);
    expect(second.ownPending()).toBe(3);
    const r = recorder();
    expect(await second.replayOldest(r.deliver, 10)).toMatchObject({ ownIndexed: 3, complete: true });
    expect(r.seen().map((d) => d.id)).toEqual(docs(0, 3).map((d) => d.id));
  });

  it('before its first commit a worker owns nothing on disk: a restart removes what it appended', async () => {
    const first = await makeSpool();
    await first.append(docs(0, 2));
    await first.close();
    const second = new Spool({ root, shard: 0, shards: 1, instance: 'a1b2c3d4e5f6', maxBytes: 1 << 30 });
    spools.push(second);
    await second.init({ ms: 0, counter: 0, bytes: 0 });
    expect(second.ownPending()).toBe(0);
    expect(await second.segments()).toEqual([]);
  });

  it("counts another process's segment as foreign", async () => {
    const a = await makeSpool();
    const all = docs(0, 5);
    await a.append(all);
    await a.close();
    const b = await makeSpool({ instance: '0123456789ab' });
    const r = recorder();
    const res = await b.replayOldest(async (batch) => {
      const d = await r.deliver(batch);
      return { ...d, indexed: d.indexed - 1, deadLettered: 1 };
    }, 2);
    expect(r.seen()).toStrictEqual(all);
    expect(res).toStrictEqual({
      ownIndexed: 0,
      ownDeadLettered: 0,
      ownDeadLetterLost: 0,
      ownLost: 0,
      foreignIndexed: 2,
      foreignDeadLettered: 3,
      foreignDeadLetterLost: 0,
      corruptTails: 0,
      ownSetAside: 0,
      complete: true,
    });
    expect(b.bytes).toBe(0);
    expect(await b.segments()).toEqual([]);
  });

  it('replays segments oldest first, one per call, across shard folders', async () => {
    const older = docs(0, 2);
    const newer = docs(2, 2);
    await mkdir(join(root, 'shard-2'));
    await writeFile(
      join(root, 'shard-2', '0000000000001-aaaaaaaaaaaa-000001.seg'),
      Buffer.concat(encodeRecords(older)),
    );
    const s = await makeSpool({ shard: 0, shards: 2 });
    await s.append(newer);
    const r = recorder();
    expect(await s.replayOldest(r.deliver, 10)).toMatchObject({ foreignIndexed: 2, ownIndexed: 0 });
    expect(r.seen()).toStrictEqual(older);
    expect(await s.replayOldest(r.deliver, 10)).toMatchObject({ foreignIndexed: 0, ownIndexed: 2 });
    expect(r.seen()).toStrictEqual([...older, ...newer]);
    expect(s.bytes).toBe(0);
    expect(await s.replayOldest(r.deliver, 10)).toBeUndefined();
  });

  it('on failures, rewrites the segment with the failed and unattempted docs, then replays exactly those', async () => {
    const s = await makeSpool();
    const all = docs(0, 10);
    await s.append(all);
    const seg = (await s.segments())[0] as string;
    // Batches of 3: the first is indexed, the second fails its 2nd and 3rd doc; the rest is not tried.
    const r = recorder((batch, call) => (call === 1 ? batch.slice(1) : []));
    const res = await s.replayOldest(r.deliver, 3);
    expect(r.batches).toStrictEqual([all.slice(0, 3), all.slice(3, 6)]);
    expect(res).toStrictEqual({
      ownIndexed: 4,
      ownDeadLettered: 0,
      ownDeadLetterLost: 0,
      ownLost: 0,
      foreignIndexed: 0,
      foreignDeadLettered: 0,
      foreignDeadLetterLost: 0,
      corruptTails: 0,
      ownSetAside: 0,
      complete: false,
    });
    const rest = all.slice(4);
    expect(await s.segments()).toEqual([seg]);
    expect(await readdir(s.dir)).toEqual([basename(seg)]);
    expect(decodeRecords(await readFile(seg))).toStrictEqual({ docs: rest, corruptTail: false });
    expect(s.bytes).toBe(recordBytes(rest));
    expect(s.bytes).toBe(await fileBytes(s));
    expect(s.ownPending()).toBe(6);

    // New appends go to a new segment, replayed after the rewritten one.
    const later = docs(10, 2);
    await s.append(later);
    expect(s.bytes).toBe(await fileBytes(s));
    const r2 = recorder();
    expect(await s.replayOldest(r2.deliver, 4)).toMatchObject({ ownIndexed: 6, complete: true, ownLost: 0 });
    expect(r2.seen()).toStrictEqual(rest);
    expect(await s.replayOldest(r2.deliver, 4)).toMatchObject({ ownIndexed: 2, complete: true });
    expect(r2.seen()).toStrictEqual([...rest, ...later]);
    expect(s.bytes).toBe(0);
    expect(s.ownPending()).toBe(0);

    // Every document delivered exactly once.
    const delivered = [...(r.batches[0] ?? []), ...(r.batches[1] ?? []).slice(0, 1), ...r2.seen()].map(
      (d) => d.id,
    );
    expect(delivered).toEqual([...all, ...later].map((d) => d.id));
  });

  it('keeps failed docs of a foreign segment foreign on the next replay', async () => {
    const a = await makeSpool();
    const all = docs(0, 4);
    await a.append(all);
    await a.close();
    const b = await makeSpool({ instance: 'bbbbbbbbbbbb' });
    const r = recorder((batch, call) => (call === 0 ? batch : []));
    expect(await b.replayOldest(r.deliver, 2)).toMatchObject({ foreignIndexed: 0, complete: false });
    expect(b.bytes).toBe(await fileBytes(b));
    const r2 = recorder();
    expect(await b.replayOldest(r2.deliver, 2)).toMatchObject({
      foreignIndexed: 4,
      ownIndexed: 0,
      complete: true,
    });
    expect(r2.seen()).toStrictEqual(all);
  });

  it('replays the intact records of a torn segment and counts the lost own records', async () => {
    const s = await makeSpool();
    const all = docs(0, 6);
    await s.append(all.slice(0, 3));
    await s.append(all.slice(3));
    const seg = (await s.segments())[0] as string;
    await truncate(seg, (await stat(seg)).size - 3);
    const r = recorder();
    const res = await s.replayOldest(r.deliver, 4);
    expect(r.seen()).toStrictEqual(all.slice(0, 5));
    expect(res).toStrictEqual({
      ownIndexed: 5,
      ownDeadLettered: 0,
      ownDeadLetterLost: 0,
      ownLost: 1,
      foreignIndexed: 0,
      foreignDeadLettered: 0,
      foreignDeadLetterLost: 0,
      corruptTails: 1,
      ownSetAside: 0,
      complete: true,
    });
    expect(await s.segments()).toEqual([]);
    expect(s.ownPending()).toBe(0);
  });

  it('a torn segment whose replay also fails part-way still accounts for every own record', async () => {
    const s = await makeSpool();
    const all = docs(0, 6);
    await s.append(all);
    const seg = (await s.segments())[0] as string;
    await truncate(seg, (await stat(seg)).size - 3);
    // First replay: the first doc is indexed, the rest of the batch fails.
    const first = await s.replayOldest(recorder((batch) => batch.slice(1)).deliver, 2);
    expect(first).toMatchObject({ ownIndexed: 1, ownLost: 1, corruptTails: 1, complete: false });
    expect(s.ownPending()).toBe(4);
    const second = await s.replayOldest(recorder().deliver, 10);
    expect(second).toMatchObject({ ownIndexed: 4, ownLost: 0, corruptTails: 0, complete: true });
    // 6 spooled = 1 + 4 indexed + 1 lost to the torn tail.
    expect((first?.ownIndexed ?? 0) + (first?.ownLost ?? 0) + (second?.ownIndexed ?? 0)).toBe(6);
    expect(s.ownPending()).toBe(0);
  });

  it('a torn segment from another process: intact records are foreign, nothing is own-lost', async () => {
    const a = await makeSpool();
    const all = docs(0, 4);
    await a.append(all);
    await a.close();
    const seg = (await a.segments())[0] as string;
    const records = encodeRecords(all);
    await truncate(seg, (await stat(seg)).size - (records[3] as Buffer).length - 2);
    const b = await makeSpool({ instance: 'cccccccccccc' });
    const r = recorder();
    expect(await b.replayOldest(r.deliver, 10)).toMatchObject({
      foreignIndexed: 2,
      ownLost: 0,
      corruptTails: 1,
      ownSetAside: 0,
      complete: true,
    });
    expect(r.seen()).toStrictEqual(all.slice(0, 2));
    expect(b.bytes).toBe(0);
  });
});

describe('Spool bytes bookkeeping', () => {
  it('equals the sum of segment file sizes after append, partial replay and full replay', async () => {
    const s = await makeSpool();
    expect(s.bytes).toBe(0);
    await s.append(docs(0, 5));
    expect(s.bytes).toBe(await fileBytes(s));
    await s.append([doc(5, { big: 'x'.repeat(5000) })]);
    expect(s.bytes).toBe(await fileBytes(s));
    expect(s.bytes).toBeGreaterThan(5000);

    await s.replayOldest(recorder((b, call) => (call === 0 ? b.slice(0, 1) : [])).deliver, 2);
    expect(s.bytes).toBe(await fileBytes(s));
    await s.append(docs(6, 2));
    expect(s.bytes).toBe(await fileBytes(s));

    // Everything fails: the segment is rewritten unchanged in size.
    const before = s.bytes;
    await s.replayOldest(recorder((b) => b).deliver, 2);
    expect(s.bytes).toBe(before);
    expect(s.bytes).toBe(await fileBytes(s));

    while (await s.replayOldest(recorder().deliver, 2)) expect(s.bytes).toBe(await fileBytes(s));
    expect(s.bytes).toBe(0);
    expect(await fileBytes(s)).toBe(0);
    expect(s.ownPending()).toBe(0);

    // A new process measures exactly what is left.
    await s.append(docs(8, 3));
    const fresh = await makeSpool({ instance: '999999999999' });
    expect(fresh.bytes).toBe(await fileBytes(s));
  });
});

describe('spool shared by live processes', () => {
  it('does not replay a segment another live process is still writing, and takes it once that one closed', async () => {
    const a = await makeSpool({ instance: 'aaaaaaaaaaaa' });
    await a.append(docs(0, 3));
    const b = await makeSpool({ instance: 'bbbbbbbbbbbb' });
    const r = recorder();
    expect(await b.replayOldest(r.deliver, 10)).toBeUndefined();
    expect(r.seen()).toEqual([]);
    // A appends on, and its accounting still holds all of it.
    await a.append(docs(3, 2));
    expect(a.ownPending()).toBe(5);
    await a.close();
    // B reuses what it found about A for a second.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const res = await b.replayOldest(r.deliver, 10);
    expect(res).toMatchObject({ foreignIndexed: 5, ownIndexed: 0, complete: true });
  });

  it('an empty spool finds segments another process left after it started', async () => {
    const b = await makeSpool({ instance: 'bbbbbbbbbbbb' });
    expect(b.bytes).toBe(0);
    const a = await makeSpool({ instance: 'aaaaaaaaaaaa' });
    await a.append(docs(0, 3));
    await a.close();
    expect(await b.rescan()).toBeGreaterThan(0);
    expect(await b.replayOldest(recorder().deliver, 10)).toMatchObject({ foreignIndexed: 3 });
  });

  it('takes over the segments of a process whose lease ran out (a pod killed on another host)', async () => {
    const a = await makeSpool({ instance: 'aaaaaaaaaaaa' });
    await a.append(docs(0, 2));
    // What a process killed with SIGKILL on another host leaves: its owner file, no longer renewed.
    const owners = join(root, 'owners');
    for (const f of await readdir(owners)) {
      await writeFile(join(owners, f), JSON.stringify({ pid: 1, host: 'another-host' }));
      const past = new Date(Date.now() - 10 * 60_000);
      await utimes(join(owners, f), past, past);
    }
    const b = await makeSpool({ instance: 'bbbbbbbbbbbb' });
    const res = await b.replayOldest(recorder().deliver, 10);
    expect(res).toMatchObject({ foreignIndexed: 2, complete: true });
  });

  it('takes over at once the segments of a dead process on this host', async () => {
    const a = await makeSpool({ instance: 'aaaaaaaaaaaa' });
    await a.append(docs(0, 2));
    const owners = join(root, 'owners');
    // A pid that is not running here (the largest pid Linux hands out is below 2^22).
    for (const f of await readdir(owners))
      await writeFile(join(owners, f), JSON.stringify({ pid: 2 ** 22 + 7, host: hostname() }));
    const b = await makeSpool({ instance: 'bbbbbbbbbbbb' });
    expect(await b.replayOldest(recorder().deliver, 10)).toMatchObject({ foreignIndexed: 2 });
  });
});
