// A process with one durable route whose handler never answers: the SIGKILL test kills it inside
// the handler. Before hanging, the handler says whether its intent is already durable where the
// process keeps events: synced in the spool (INTENT_IN=spool) or in OpenSearch (INTENT_IN=opensearch).
import { serve } from '@hono/node-server';
import { Client } from '@opensearch-project/opensearch';
import { createAudit } from '@pdaas/audit';
import { auditAs, honoAudit } from '@pdaas/audit/hono';
import { Hono } from 'hono';
import { Registry } from 'prom-client';
import { readSpool } from '../../src/spool/reader.js';

const spoolDir = String(process.env.SPOOL_DIR);
const prefix = String(process.env.PREFIX);
const audit = await createAudit({
  registry: new Registry(),
  indexPrefix: prefix,
  indexShards: 1,
  indexReplicas: 0,
  flushIntervalSeconds: 0.2,
  retryBackoffSeconds: 0.05,
  breakerCooldownSeconds: 1,
  spoolDir,
  handleSignals: true,
});

/** Whether the intent's document is stored now: found in a spool segment, or by a realtime GET. */
async function durable(id: string): Promise<boolean> {
  if (process.env.INTENT_IN === 'spool') {
    for await (const segment of readSpool(spoolDir))
      if (segment.documents.some((d) => d.id === id)) return true;
    return false;
  }
  const client = new Client({ node: String(process.env.OS_URL) });
  try {
    const { body } = await client.indices.get({ index: `${prefix}-*,-${prefix}-checkpoints-*` });
    for (const index of Object.keys(body)) {
      const got = await client.get({ index, id, routing: 'org-7' }, { ignore: [404] });
      if ((got.body as { found?: boolean }).found) return true;
    }
    return false;
  } finally {
    await client.close();
  }
}

const app = new Hono();
app.use(honoAudit(audit));
app.post('/transfers/:id', auditAs({ action: 'transfers.execute', durable: true }), async (c) => {
  const id = c.get('auditIntent') ?? '';
  console.log(`HANDLER ${id} durable=${await durable(id)}`);
  // The side effect is under way when the process dies.
  return new Promise<Response>(() => undefined);
});
app.get('/ready', (c) => c.text('ok'));

serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: '127.0.0.1' }, () =>
  console.log('listening'),
);
