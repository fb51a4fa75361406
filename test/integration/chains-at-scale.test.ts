// The hash chains at the scale: 100 organizations with a thousand events each, captured
// straight into the pipeline (no HTTP, to keep the test short), two worker threads, one of them
// terminated twice mid-batch; then every organization's chains verify with no false alarm.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { eventAt, ORGS } from '../../bench/fixtures.js';
import { expectChainsIntact, expectExactAccounting, faultAudit, settled } from '../support/faults.js';
import { internals } from '../support/internals.js';
import { testClient, testUrl, uniquePrefix } from '../support/opensearch.js';

const PER_ORG = 1000;

describe('hash chains at scale', () => {
  it(`${ORGS} organizations × ${PER_ORG} events, a worker terminated twice: every chain verifies clean`, async () => {
    const prefix = uniquePrefix('scale');
    const { audit, registry } = await faultAudit(prefix, testUrl(), {
      workers: 2,
      batchSize: 500,
      maxQueueSize: 200_000,
    });
    const total = ORGS * PER_ORG;
    let terminated = 0;
    for (let n = 0; n < total; n++) {
      internals(audit).capture(eventAt(n));
      if (n % 5000 === 4999) {
        await sleep(20);
        if ((n === 29_999 || n === 59_999) && terminated < 2) {
          await internals(audit).workerThreads()[0]?.terminate();
          terminated++;
        }
      }
    }
    await settled(audit, 180_000);
    // The terminations happened, and the pool replaced the worker each time.
    expect(terminated).toBe(2);
    expect(await registry.metrics()).toMatch(/^audit_worker_restarts_total [2-9]$/m);
    const final = await audit.close();
    expect(final.captured).toBe(total);
    expectExactAccounting(final);
    expect(final.indexed).toBe(total);
    const t0 = performance.now();
    const voided = await expectChainsIntact(
      prefix,
      Array.from({ length: ORGS }, (_, i) => `org-${String(i).padStart(3, '0')}`),
      testClient(),
    );
    expect(voided).toBe(0);
    console.log(
      `chains at scale: ${total} events of ${ORGS} organizations verified in ${Math.round(performance.now() - t0)} ms`,
    );
  }, 300_000);
});
