// A worker thread is terminated mid-batch, three times, while traffic flows through the Hono example
// over real sockets. The pool replaces it and the new drain re-reads what the dead one had not
// released: OpenSearch must hold every event exactly once and the accounting must be exact.

import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { drive, startApp, totalSent } from '../../../examples/traffic.js';
import {
  expectExactAccounting,
  expectStoredExactlyOnce,
  faultAudit,
  finish,
  summary,
} from '../../support/faults.js';
import { internals } from '../../support/internals.js';
import { testUrl, uniquePrefix } from '../../support/opensearch.js';

describe('worker crash', () => {
  it('worker terminated mid-batch: replaced, its unreleased events delivered again, no duplicates', async () => {
    const prefix = uniquePrefix('worker');
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
    console.log(summary('worker crash', final, metrics));
  });
});
