// The node itself goes away: it stops for 30 s while traffic flows through the Hono example over
// real sockets, then starts again. Afterwards OpenSearch must hold every event exactly once, having
// gone through the spool, and the accounting must be exact.

import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, inject, it } from 'vitest';
import { drive, startApp, totalSent } from '../../../examples/traffic.js';
import { DevNode } from '../../../scripts/opensearch/dev-node.js';
import {
  expectExactAccounting,
  expectStoredExactlyOnce,
  faultAudit,
  finish,
  summary,
} from '../../support/faults.js';
import { testUrl, uniquePrefix } from '../../support/opensearch.js';

describe('node outage', () => {
  it('node stopped for 30 s mid-traffic, then started again: spooled, replayed, nothing lost', async () => {
    const port = inject('opensearchDevPort');
    expect(port, 'this test stops the node the test run started').toBeGreaterThan(0);
    const node = new DevNode({ name: 'test', port, log: () => undefined });
    const prefix = uniquePrefix('outage');
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
    console.log(summary('node outage', final, metrics));
  });
});
