// The dead-letter folder on a read-only volume (a real EROFS): OpenSearch refuses some events for
// good, and the file that should keep them cannot be written. The worker must count those events as
// dropped (dead_letter_error) and go on; it must not die on the batch, be restarted, re-read the same
// frames and die again while the ring fills.

import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { drive, startApp, totalSent } from '../../../examples/traffic.js';
import { expectChainsIntact, faultAudit, finish, settled, summary } from '../../support/faults.js';
import { remount, tmpfs } from '../../support/mounts.js';
import { createConflictingIndex, testUrl, uniquePrefix } from '../../support/opensearch.js';

const unmounts: Array<() => void> = [];
afterEach(() => {
  for (const unmount of unmounts.splice(0)) unmount();
});

describe('dead-letter volume read-only', () => {
  it('dead-letter folder read-only: refused events are counted as dropped, the shard keeps draining', async () => {
    const prefix = uniquePrefix('dlro');
    const { audit, registry, logs } = await faultAudit(prefix, testUrl());
    const folder = join(audit.config.spoolDir, 'dead-letter');
    unmounts.push(tmpfs(folder, 1 << 20));
    remount(folder, 'ro');
    await createConflictingIndex(prefix);
    const app = await startApp('hono', audit);
    const sent = await drive(app.url, 1000, {
      orgs: 10,
      prefix,
      actorIds: (n) => (n % 4 === 0 ? `user-${n}` : String(n)),
    });
    // Before the fix the shard died on this batch forever and nothing drained: fail in a minute.
    await settled(audit, 60_000).catch(async (err: Error) => {
      await app.close();
      throw err;
    });
    const { final, metrics } = await finish(app, audit, registry);

    const conflicting = 250;
    expect(totalSent(sent)).toBe(1000);
    expect(final.captured).toBe(1000);
    expect(final.indexed).toBe(1000 - conflicting);
    expect(final.deadLettered).toBe(0);
    expect(final.dropped.byReason.dead_letter_error).toBe(conflicting);
    expect(final.dropped.total).toBe(conflicting);
    expect(final.indexed + final.deadLettered + final.dropped.total + final.spooled + final.inFlight).toBe(
      final.captured,
    );
    expect(metrics).toMatch(/^audit_worker_restarts_total 0$/m);
    expect(metrics).toMatch(/^audit_events_dropped_total\{reason="dead_letter_error"\} 250$/m);
    // Dropped after their chain positions were given: voided by the checkpoints, not missing.
    expect(await expectChainsIntact(prefix, [...sent.keys()])).toBe(conflicting);
    expect(logs.lines.some((l) => l.startsWith('error Dead-letter write failed: events dropped'))).toBe(true);
    console.log(summary('dead-letter folder read-only', final, metrics));
  });
});
