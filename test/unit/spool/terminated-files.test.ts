// Worker.terminate() while a worker writes files must not leave a descriptor open in the process.
// Node closes what a terminated worker had open, but not a file whose asynchronous open was still
// under way: its descriptor is made after the thread is gone and is never closed. Each one keeps a
// deleted spool segment's space taken and makes a remount of the volume fail ("busy"), for as long
// as the process lives. Real terminations at random points, then /proc/self/fd is the witness.
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'pdaas-fds-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What this process has open under `dir`. */
function openUnder(path: string): string[] {
  const open: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(path)) open.push(target);
    } catch {
      // closed while listing
    }
  }
  return open;
}

// The worker's file work as the drain does it: spool appends (segments rotate, the lease renews)
// and dead-letter appends, as fast as it can, until it is terminated.
const source = `
const { workerData } = require('node:worker_threads');
(async () => {
  const { Spool } = await import(workerData.dist + '/spool/spool.js');
  const { appendDeadLetters } = await import(workerData.dist + '/delivery/dead-letters.js');
  const spool = new Spool({ root: workerData.dir, shard: 0, shards: 1, instance: workerData.instance, maxBytes: 1 << 24 });
  await spool.init();
  const doc = { index: 'audit-x', id: 'x', routing: 'o', source: { message: 'x'.repeat(200) } };
  const item = { status: 400, error: { type: 'mapper_parsing_exception', reason: 'r' } };
  for (let i = 0; ; i++) {
    await appendDeadLetters(workerData.dir, [[doc, item]]);
    await spool.append([doc]);
  }
})();
`;

describe('a terminated worker', () => {
  it.runIf(process.platform === 'linux')(
    'leaves no file descriptor open, wherever it was stopped',
    async () => {
      const dist = new URL('../../../dist', import.meta.url).pathname;
      for (let round = 0; round < 60; round++) {
        const instance = round.toString(16).padStart(12, '0');
        const worker = new Worker(source, { eval: true, workerData: { dist, dir, instance } });
        worker.on('error', () => {});
        await new Promise((r) => setTimeout(r, 30 + Math.random() * 40));
        await worker.terminate();
      }
      await new Promise((r) => setTimeout(r, 200));
      expect(openUnder(dir)).toEqual([]);
    },
    60_000,
  );
});
