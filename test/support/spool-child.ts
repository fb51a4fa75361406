// The first process of 'SIGKILL while the breaker is open' (faults/process-signals.test.ts):
// OpenSearch is unreachable, so the breaker opens and every event goes to the spool. It prints
// SPOOLED once all of them are synced to disk, then waits to be killed.
import { createAudit } from '@pdaas/audit';
import { Registry } from 'prom-client';
import { createApp } from '../../examples/hono/app.js';
import { internals } from './internals.js';

const events = Number(process.env.EVENTS);
const prefix = String(process.env.PREFIX);
const quiet = { info() {}, warn() {}, error() {} };
const audit = await createAudit({
  registry: new Registry(),
  logger: quiet,
  indexPrefix: prefix,
  spoolDir: process.env.SPOOL_DIR,
  flushIntervalSeconds: 0.2,
  batchSize: 100,
  retryAttempts: 1,
  retryBackoffSeconds: 0.01,
  breakerFailures: 2,
  breakerCooldownSeconds: 3600,
  opensearch: { host: '127.0.0.1', port: Number(process.env.DEAD_PORT), timeoutSeconds: 2 },
});
const app = createApp(audit);
for (let n = 0; n < events; n++) {
  const res = await app.request(`/policies/p-${n}`, {
    headers: { 'x-organization-id': `org-${n % 10}`, 'x-request-id': `${prefix}-${n}` },
  });
  await res.arrayBuffer();
}
while (audit.stats().spooled < events || audit.stats().inFlight > 0)
  await new Promise((r) => setTimeout(r, 50));
console.log(`SPOOLED ${audit.stats().spooled} breaker ${internals(audit).breakerState()}`);
setInterval(() => undefined, 60_000);
