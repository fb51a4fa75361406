// A process on the embedded default (no OpenSearch configured) with AUDIT_HANDLE_SIGNALS: its
// events go to the spool, and on SIGTERM the library drains the ring before the process exits.
import { createAudit } from '@pdaas/audit';
import { Registry } from 'prom-client';
import { createApp } from '../../examples/hono/app.js';

const events = Number(process.env.EVENTS);
const prefix = String(process.env.PREFIX);
const audit = await createAudit({
  registry: new Registry(),
  indexPrefix: prefix,
  spoolDir: process.env.SPOOL_DIR,
});
const app = createApp(audit);
for (let n = 0; n < events; n++) {
  const res = await app.request(`/groups/g-${n}`, {
    headers: { 'x-organization-id': `org-${n % 5}`, 'x-request-id': `${prefix}-${n}` },
  });
  await res.arrayBuffer();
}
console.log('READY');
setInterval(() => undefined, 60_000);
