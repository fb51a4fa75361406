// The Hono app of the hostile-input tests, audited or bare.
import { honoAudit } from '@pdaas/audit/hono';
import { Hono } from 'hono';

/** A deterministic app (no random ids) whose handlers read bodies in every way Hono offers. */
export function echoApp(audit?: Parameters<typeof honoAudit>[0]): Hono {
  const app = new Hono();
  app.onError((err, c) => c.text(`error ${err.message}`, 500));
  if (audit) app.use(honoAudit(audit));
  app.post('/json', async (c) => {
    try {
      return c.json({ got: await c.req.json() });
    } catch {
      return c.text('bad json', 400);
    }
  });
  app.post('/text', async (c) => c.text(`len ${(await c.req.text()).length}`));
  app.post('/bytes', async (c) => c.text(`len ${(await c.req.arrayBuffer()).byteLength}`));
  app.post('/ignore', (c) => c.body(null, 204));
  app.all('/items/:id', (c) => c.json({ id: c.req.param('id'), q: c.req.query() }));
  app.get('/boom', () => {
    throw new Error('boom');
  });
  return app;
}
