// A request no route answers is recorded as `route.unmatched` with its path as target, also when
// another catch-all middleware ran after the audit's.
import { createAudit } from '@pdaas/audit';
import { honoAudit } from '@pdaas/audit/hono';
import { Hono } from 'hono';
import { Registry } from 'prom-client';
import { expect, it } from 'vitest';
import { readSpool } from '../../../src/spool/reader.js';
import { tempDir } from '../../support/faults.js';

it('records unmatched requests as route.unmatched', async () => {
  const spoolDir = tempDir('unmatched');
  const audit = await createAudit({
    registry: new Registry(),
    logger: { info() {}, warn() {}, error() {} },
    spoolDir,
  });
  const app = new Hono();
  app.use(honoAudit(audit));
  app.use('*', async (_c, next) => {
    await next();
  });
  app.get('/policies/:id', (c) => c.json({ id: c.req.param('id') }));
  expect((await app.request('/nowhere/1')).status).toBe(404);
  expect((await app.request('/policies/p1')).status).toBe(200);
  await audit.close();
  const docs = [];
  for await (const s of readSpool(spoolDir)) docs.push(...s.documents.map((d) => d.source));
  expect(docs.map((d) => [d.action, d.target, d.route])).toEqual([
    ['route.unmatched', '/nowhere/1', undefined],
    ['policies.read', 'policy:p1', '/policies/:id'],
  ]);
});
