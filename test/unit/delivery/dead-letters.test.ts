// The dead-letter files the CLI lists and redrives: grouping reasons, and a rewrite that keeps
// unreadable lines and what a worker appended meanwhile.
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDeadLetters, reasonGroup, rewrite } from '../../../src/delivery/dead-letters.js';

describe('dead-letter files', () => {
  const reason = (id: string, value: string) =>
    `failed to parse field [actor_id] of type [integer] in document with id '${id}'. Preview of field's value: '${value}'`;

  it('groups reasons without document ids and values', () => {
    expect(reasonGroup(reason('01a2-x', 'user-1'))).toBe(
      'failed to parse field [actor_id] of type [integer]',
    );
    expect(reasonGroup(reason('01a2-y', 'user-2'))).toBe(reasonGroup(reason('01a2-x', 'user-1')));
    expect(reasonGroup(undefined)).toBe('(none)');
  });

  it('rewrites a file with the kept lines, unreadable lines, and what was appended after reading', async () => {
    const spool = mkdtempSync(join(tmpdir(), 'pdaas-dl-'));
    mkdirSync(join(spool, 'dead-letter'));
    const file = join(spool, 'dead-letter', '2026-11-27.ndjson');
    const entry = (id: string) =>
      JSON.stringify({
        at: 't',
        status: 400,
        error: 'e',
        reason: reason(id, 'v'),
        index: 'i',
        id,
        document: { a: 1 },
      });
    writeFileSync(file, `${entry('1')}\nnot json\n${entry('2')}\n`);
    const [read] = await readDeadLetters(spool);
    expect(read?.entries.map((e) => e.id)).toEqual(['1', '2']);
    expect(read?.unreadable).toEqual(['not json']);
    appendFileSync(file, `${entry('3')}\n`); // a worker appends while we redrive
    await rewrite(read as NonNullable<typeof read>, [...(read?.unreadable ?? []), entry('2')]);
    expect(readFileSync(file, 'utf8')).toBe(`not json\n${entry('2')}\n${entry('3')}\n`);
    expect(await readDeadLetters(spool, '2026-11-28')).toEqual([]);
  });

  it('keeps a line a worker appends while the rewrite runs, wherever it lands', async () => {
    const spool = mkdtempSync(join(tmpdir(), 'pdaas-dl-'));
    mkdirSync(join(spool, 'dead-letter'));
    const file = join(spool, 'dead-letter', '2026-11-27.ndjson');
    const line = (id: string) => JSON.stringify({ at: 't', status: 400, index: 'i', id, document: {} });
    writeFileSync(file, `${line('1')}\n${line('2')}\n`);
    const [read] = await readDeadLetters(spool);
    // Appends racing the rewrite: before its rename, during its grace period, and after it.
    const racing = (async () => {
      for (const id of ['3', '4', '5']) {
        appendFileSync(file, `${line(id)}\n`);
        await new Promise((r) => setTimeout(r, 40));
      }
    })();
    await Promise.all([rewrite(read as NonNullable<typeof read>, [line('2')]), racing]);
    const ids = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { id: string }).id)
      .sort();
    expect(ids).toEqual(['2', '3', '4', '5']);
  });

  it('deletes a file once nothing is left in it', async () => {
    const spool = mkdtempSync(join(tmpdir(), 'pdaas-dl-'));
    mkdirSync(join(spool, 'dead-letter'));
    writeFileSync(join(spool, 'dead-letter', '2026-11-27.ndjson'), '{"index":"i","id":"1","document":{}}\n');
    const [read] = await readDeadLetters(spool);
    await rewrite(read as NonNullable<typeof read>, []);
    expect(await readDeadLetters(spool)).toEqual([]);
  });
});
