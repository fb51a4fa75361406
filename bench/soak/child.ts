// A second process on the soak's spool folder (the shared-spool fault): an Audit with no OpenSearch,
// so its events stay in the shared spool, a few hundred requests through the Hono example, then a
// clean close that releases its lease. The soak's own process must then deliver them, each once.
import { createAudit } from '@pdaas/audit';
import { Registry } from 'prom-client';
import { createApp } from '../../examples/hono/app.js';

const events = Number(process.env.EVENTS);
const prefix = String(process.env.PREFIX);
const audit = await createAudit({
  registry: new Registry(),
  logger: { info() {}, warn() {}, error() {} },
  indexPrefix: prefix,
  spoolDir: process.env.SPOOL_DIR,
  flushIntervalSeconds: 0.2,
  opensearch: {},
});
const app = createApp(audit);
for (let n = 0; n < events; n++) {
  const res = await app.request(`/policies/p-${n}`, {
    headers: {
      'x-organization-id': `org-child-${n % 5}`,
      'x-actor-id': String(n),
      'x-request-id': `${prefix}-child-${process.env.RUN}-${n}`,
    },
  });
  await res.arrayBuffer();
}
const final = await audit.close();
console.log(`CHILD ${JSON.stringify(final)}`);
