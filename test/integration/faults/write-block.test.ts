// The audit indices refuse writes (index.blocks.write) for 6 s while traffic flows through the Hono
// example over real sockets, then accept them again. Afterwards OpenSearch must hold every event
// exactly once, none dead-lettered, and the accounting must be exact.

import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { drive, startApp, totalSent } from '../../../examples/traffic.js';
import {
  expectExactAccounting,
  expectStoredExactlyOnce,
  faultAudit,
  finish,
  summary,
  waitFor,
} from '../../support/faults.js';
import { testClient, testUrl, uniquePrefix } from '../../support/opensearch.js';

describe('write block', () => {
  it('writes blocked on the audit indices, then unblocked: nothing lost', async () => {
    const prefix = uniquePrefix('wblock');
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
    console.log(summary('write block', final, metrics));
  });
});
