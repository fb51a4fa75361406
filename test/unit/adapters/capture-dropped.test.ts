// An event the adapter cannot hand to the audit is not lost silently: it counts as captured and
// dropped (reason capture_error), so stats() keeps captured = indexed + deadLettered + dropped +
// spooled + inFlight (issue #12). With the real Audit and its worker (the compiled
// dist/worker/drain.js: run `npm run build` first), no OpenSearch: what is kept ends in the spool.
import { rm } from 'node:fs/promises';
import { Hono } from 'hono';
import { Registry } from 'prom-client';
import { afterEach, expect, it, vi } from 'vitest';
import { honoAudit } from '../../../src/adapters/hono.js';
import { type Audit, createAudit } from '../../../src/audit.js';
import { tempDir } from '../../support/faults.js';

const quiet = { info() {}, warn() {}, error() {} };
const cleanup: Array<() => Promise<unknown>> = [];

afterEach(async () => {
  for (const done of cleanup.splice(0)) await done();
  vi.unstubAllEnvs();
});

async function start(): Promise<{ audit: Audit; registry: Registry }> {
  vi.stubEnv('AUDIT_OPENSEARCH_HOST', undefined);
  const spoolDir = tempDir('capture-dropped');
  const registry = new Registry();
  const audit = await createAudit({
    workers: 1,
    spoolDir,
    flushIntervalSeconds: 0.05,
    closeTimeoutSeconds: 20,
    registry,
    logger: quiet,
  });
  cleanup.push(async () => {
    await audit.close().catch(() => undefined);
    await rm(spoolDir, { recursive: true, force: true });
  });
  return { audit, registry };
}

it('counts an event the audit could not take as captured and dropped (capture_error), and the sum holds', async () => {
  const { audit, registry } = await start();
  const app = new Hono();
  app.use(honoAudit(audit));
  app.get('/policies/:id', (c) => c.json({ id: c.req.param('id') }));

  expect((await app.request('/policies/1')).status).toBe(200);
  // The next capture fails inside the audit: the adapter counts it as dropped.
  const capture = vi.spyOn(audit, 'capture').mockImplementationOnce(() => {
    throw new Error('ring gone');
  });
  expect((await app.request('/policies/2')).status).toBe(200);
  capture.mockRestore();
  expect((await app.request('/policies/3')).status).toBe(200);

  // Read before close(), which unregisters the metrics.
  const metrics = await registry.metrics();
  expect(metrics).toMatch(/^audit_events_dropped_total\{reason="capture_error"\} 1$/m);
  expect(metrics).toMatch(/^audit_errors_total\{reason="capture"\} 1$/m);
  const final = await audit.close();
  expect(final.captured).toBe(3);
  expect(final.dropped.byReason.capture_error).toBe(1);
  expect(final.dropped.total).toBe(1);
  expect(final.spooled).toBe(2);
  expect(final.captured).toBe(
    final.indexed + final.deadLettered + final.dropped.total + final.spooled + final.inFlight,
  );
});
