// The worker's answer to "can this shard keep events?" (AUDIT_FAILURE_MODE=closed): what it
// publishes from deliveries, appends and its probe. A fake OpenSearch client; a real folder.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@opensearch-project/opensearch';
import { afterEach, describe, expect, it } from 'vitest';
import { Breaker, createBreakerBuffer } from '../../../src/delivery/breaker.js';
import { createDurabilityBuffer, Durability } from '../../../src/layout.js';
import { DurabilityWatch } from '../../../src/worker/durability.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A client whose cluster health answers `status`, or fails when `status` is an Error. */
function fakeClient(answer: { status: string | Error }): { client: Client; asked: () => number } {
  let asked = 0;
  const client = {
    cluster: {
      health: async () => {
        asked++;
        if (answer.status instanceof Error) throw answer.status;
        return { body: { status: answer.status } };
      },
    },
  } as unknown as Client;
  return { client, asked: () => asked };
}

function watch(
  opts: { client?: Client; spoolDir?: string; spoolMaxBytes?: number; spoolBytes?: number } = {},
) {
  const dir = opts.spoolDir ?? mkdtempSync(join(tmpdir(), 'pdaas-durability-'));
  dirs.push(dir);
  const cells = createDurabilityBuffer(2);
  const w = new DurabilityWatch({
    cells,
    shard: 1,
    spoolDir: dir,
    spoolMaxBytes: opts.spoolMaxBytes ?? 1 << 30,
    spoolBytes: () => opts.spoolBytes ?? 0,
    client: opts.client,
    breaker: new Breaker(createBreakerBuffer(), Date.now(), 3, 60_000),
    pingTimeoutMs: 100,
  });
  const value = () => Atomics.load(new Int32Array(cells), 1);
  return { w, value, dir, other: () => Atomics.load(new Int32Array(cells), 0) };
}

describe('DurabilityWatch', () => {
  it('starts unknown (refused), and a writable spool makes its shard keep events; other shards untouched', async () => {
    const { w, value, other } = watch();
    expect(value()).toBe(Durability.UNKNOWN);
    await w.probe();
    expect(value()).toBe(Durability.KEEPS);
    expect(other()).toBe(Durability.UNKNOWN);
  });

  it('OpenSearch taking events keeps them even with the spool refusing; without either, the spool says why', async () => {
    const { w, value } = watch({ client: fakeClient({ status: 'green' }).client });
    w.appended(Durability.SPOOL_FULL);
    w.delivered(true);
    expect(value()).toBe(Durability.KEEPS);
    w.delivered(false);
    expect(value()).toBe(Durability.SPOOL_FULL);
    w.appended(Durability.SPOOL_ERROR);
    expect(value()).toBe(Durability.SPOOL_ERROR);
    w.appended(Durability.KEEPS);
    expect(value()).toBe(Durability.KEEPS);
  });

  it('a spool folder that cannot be written is an error; a share of the cap with no room is full', async () => {
    const gone = watch({ spoolDir: join(mkdtempSync(join(tmpdir(), 'pdaas-durability-')), 'missing') });
    await gone.w.probe();
    expect(gone.value()).toBe(Durability.SPOOL_ERROR);

    const capped = watch({ spoolMaxBytes: 4 * 1024 * 1024, spoolBytes: 3.5 * 1024 * 1024 });
    await capped.w.probe();
    expect(capped.value()).toBe(Durability.SPOOL_FULL);

    // A small share of AUDIT_SPOOL_MAX_BYTES (512 KiB) with nothing in it has room.
    const small = watch({ spoolMaxBytes: 512 * 1024, spoolBytes: 0 });
    await small.w.probe();
    expect(small.value()).toBe(Durability.KEEPS);
  });

  it('probes OpenSearch by its cluster health: red or no answer is not taking events', async () => {
    const answer: { status: string | Error } = { status: 'red' };
    const { client, asked } = fakeClient(answer);
    const gone = join(mkdtempSync(join(tmpdir(), 'pdaas-durability-')), 'missing');
    const { w, value } = watch({ client, spoolDir: gone });
    await w.probe();
    expect(asked()).toBe(1);
    expect(value()).toBe(Durability.SPOOL_ERROR);
    answer.status = new Error('connect ECONNREFUSED');
    await w.probe();
    expect(value()).toBe(Durability.SPOOL_ERROR);
    answer.status = 'yellow';
    await w.probe();
    expect(value()).toBe(Durability.KEEPS);
    // Once OpenSearch takes events, the probe does not ask it again; a failed delivery does.
    await w.probe();
    expect(asked()).toBe(3);
    w.delivered(false);
    expect(value()).toBe(Durability.SPOOL_ERROR);
  });

  it('the probe is due once a second', async () => {
    const { client, asked } = fakeClient({ status: new Error('down') });
    const { w } = watch({ client, spoolDir: '/proc/1/nonexistent' });
    const t = Date.now();
    await w.maybeProbe(t);
    await w.maybeProbe(t + 500);
    expect(asked()).toBe(1);
    await w.maybeProbe(t + 1000);
    expect(asked()).toBe(2);
  });
});
