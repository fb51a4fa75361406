// Fault scenarios against the real node itself: it stops for 30 s, its indices refuse writes, a
// worker thread dies mid-batch, and a mapping conflict. Traffic flows through the Hono example over
// real sockets during each fault; afterwards OpenSearch must hold every event exactly once (or the
// dead-letter file must, for the mapping conflict) and the accounting must be exact.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, inject, it } from 'vitest';
import { drive, startApp, totalSent } from '../../examples/traffic.js';
import { DevNode } from '../../scripts/opensearch/dev-node.js';
import {
  expectExactAccounting,
  expectStoredExactlyOnce,
  faultAudit,
  finish,
  summary,
  waitFor,
} from '../support/faults.js';
import { internals } from '../support/internals.js';
import { createConflictingIndex, testClient, testUrl, uniquePrefix } from '../support/opensearch.js';

describe('fault scenarios against the real node', () => {
  it('1. the node stops for 30 s mid-traffic and starts again: spooled, replayed, nothing lost', async () => {
    const port = inject('opensearchDevPort');
    expect(port, 'this scenario stops the node the test run started').toBeGreaterThan(0);
    const node = new DevNode({ name: 'test', port, log: () => undefined });
    const prefix = uniquePrefix('f1');
    const { audit, logs, registry } = await faultAudit(prefix, testUrl());
    const app = await startApp('hono', audit);
    const traffic = drive(app.url, 1e9, {
      orgs: 20,
      prefix,
      until: Date.now() + 45_000,
      rate: 150,
      concurrency: 6,
    });
    await sleep(5_000);
    await node.stop();
    await sleep(30_000);
    await node.start();
    const sent = totalSent(await traffic);
    const { final, metrics } = await finish(app, audit, registry);

    expect(final.captured).toBe(sent);
    expectExactAccounting(final);
    expect(final.indexed).toBe(sent);
    expect(logs.lines.some((l) => l.startsWith('warn Circuit breaker open'))).toBe(true);
    expect(logs.lines.some((l) => l.startsWith('info Circuit breaker closed'))).toBe(true);
    expect(logs.lines.some((l) => l.startsWith('info Spool replayed'))).toBe(true);
    // The outage went through the spool: written there, then replayed into the node.
    expect(metrics).toMatch(/audit_events_spooled_total [1-9]/);
    expect(metrics).toMatch(/audit_events_replayed_total [1-9]/);
    await expectStoredExactlyOnce(prefix, sent);
    console.log(summary('scenario 1', final, metrics));
  });

  it('2. writes blocked on the audit indices, then unblocked: nothing lost', async () => {
    const prefix = uniquePrefix('f2');
    const { audit, logs, registry } = await faultAudit(prefix, testUrl());
    const app = await startApp('hono', audit);
    const client = testClient();
    const traffic = drive(app.url, 1e9, {
      orgs: 20,
      prefix,
      until: Date.now() + 14_000,
      rate: 200,
      concurrency: 6,
    });
    await waitFor('the first events indexed', () => audit.stats().indexed > 0);
    await client.indices.putSettings({ index: `${prefix}-*`, body: { 'index.blocks.write': true } });
    await sleep(6_000);
    await client.indices.putSettings({ index: `${prefix}-*`, body: { 'index.blocks.write': false } });
    const sent = totalSent(await traffic);
    const { final, metrics } = await finish(app, audit, registry);

    expect(final.captured).toBe(sent);
    expectExactAccounting(final);
    expect(final.indexed).toBe(sent);
    expect(final.deadLettered).toBe(0);
    expect(logs.lines.some((l) => l.startsWith('warn Circuit breaker open'))).toBe(true);
    await expectStoredExactlyOnce(prefix, sent);
    console.log(summary('scenario 2', final, metrics));
  });

  it('5. a worker thread dies mid-batch: replaced, its unreleased events delivered again, no duplicates', async () => {
    const prefix = uniquePrefix('f5');
    const { audit, logs, registry } = await faultAudit(prefix, testUrl(), { workers: 2 });
    const app = await startApp('hono', audit);
    const traffic = drive(app.url, 1e9, {
      orgs: 20,
      prefix,
      until: Date.now() + 10_000,
      rate: 600,
      concurrency: 8,
    });
    for (const at of [2_500, 5_000, 7_500]) {
      await sleep(at === 2_500 ? at : 2_500);
      const threads = internals(audit).workerThreads();
      expect(threads.length).toBeGreaterThan(0);
      await threads[0]?.terminate();
    }
    const sent = totalSent(await traffic);
    const { final, metrics } = await finish(app, audit, registry);

    expect(final.captured).toBe(sent);
    expectExactAccounting(final);
    expect(final.indexed).toBe(sent);
    expect(logs.lines.filter((l) => l.startsWith('error Audit worker died')).length).toBeGreaterThanOrEqual(
      3,
    );
    expect(metrics).toMatch(/audit_worker_restarts_total [3-9]/);
    await expectStoredExactlyOnce(prefix, sent);
    console.log(summary('scenario 5', final, metrics));
  });

  it('8. a mapping conflict: the refused events land in the dead-letter file, the rest is indexed', async () => {
    const prefix = uniquePrefix('f8');
    const { audit, registry } = await faultAudit(prefix, testUrl());
    // Today's index exists already with actor_id mapped as an integer: string actor ids conflict.
    const index = await createConflictingIndex(prefix);
    const client = testClient();
    const app = await startApp('hono', audit);
    const sent = await drive(app.url, 1000, {
      orgs: 10,
      prefix,
      actorIds: (n) => (n % 4 === 0 ? `user-${n}` : String(n)),
    });
    const { final, metrics } = await finish(app, audit, registry);

    const conflicting = 250;
    expect(totalSent(sent)).toBe(1000);
    expect(final.captured).toBe(1000);
    expectExactAccounting(final);
    expect(final.deadLettered).toBe(conflicting);
    expect(final.indexed).toBe(1000 - conflicting);
    const dir = join(audit.config.spoolDir, 'dead-letter');
    const lines = readdirSync(dir).flatMap((f) => readFileSync(join(dir, f), 'utf8').trim().split('\n'));
    expect(lines).toHaveLength(conflicting);
    const first = JSON.parse(lines[0] as string) as {
      status: number;
      error: string;
      document: Record<string, unknown>;
    };
    expect(first.status).toBe(400);
    expect(first.error).toBe('mapper_parsing_exception');
    expect(String(first.document.actor_id)).toMatch(/^user-/);
    await client.indices.refresh({ index });
    expect((await client.count({ index })).body.count).toBe(1000 - conflicting);
    console.log(summary('scenario 8', final, metrics));
  });
});
