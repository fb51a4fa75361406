// An API shaped like the PDaaS platform's, audited with @pdaas/audit. `createApp` is used by the
// demo, the tests and the load harness; run this file to serve it on 127.0.0.1:3000.
import { serve } from '@hono/node-server';
import { type Audit, createAudit, isAuditError } from '@pdaas/audit';
import { auditAs, honoAudit, honoMetrics } from '@pdaas/audit/hono';
import { Hono } from 'hono';

const resources = [
  'policies',
  'organizations',
  'accounts',
  'memberships',
  'groups',
  'service-accounts',
] as const;

export function createApp(audit?: Audit): Hono {
  const app = new Hono();
  if (audit) {
    app.use(honoAudit(audit));
    app.get('/metrics', honoMetrics(audit));
  }
  app.get('/health', (c) => c.json({ status: 'ok' }));
  app.post('/authentication/login', auditAs({ action: 'authentication.login' }), async (c) => {
    const { username } = await c.req.json<{ username?: string }>();
    return c.json({ token: 'eyJhbGciOiJIUzI1NiJ9.e30.sig', user: username ?? 'anonymous' });
  });
  app.post('/authentication/logout', auditAs({ action: 'authentication.logout' }), (c) => c.body(null, 204));
  for (const r of resources) {
    app.get(`/${r}`, (c) => c.json({ items: [], resource: r }));
    app.post(`/${r}`, async (c) => c.json({ id: crypto.randomUUID(), ...(await c.req.json<object>()) }, 201));
    app.get(`/${r}/:id`, (c) => c.json({ id: c.req.param('id'), resource: r }));
    app.patch(`/${r}/:id`, async (c) => c.json({ id: c.req.param('id'), ...(await c.req.json<object>()) }));
    app.delete(`/${r}/:id`, (c) => c.body(null, 204));
  }
  app.post('/policies/:id/evaluate', auditAs({ action: 'policies.evaluate' }), async (c) => {
    // An evaluation reads its input (JSON, a form or text); the audit keeps what the handler read.
    const type = c.req.header('content-type') ?? '';
    if (type.includes('json')) await c.req.json();
    else if (type.includes('form')) await c.req.parseBody();
    else await c.req.text();
    return c.json({ allowed: true });
  });
  app.get('/boom', () => {
    throw new Error('handler failure');
  });
  return app;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const audit = await createAudit().catch((err: unknown) => {
    // A wrong AUDIT_* value: one clear line and exit code 2, not a stack trace.
    if (!isAuditError(err, 'AUDIT_ERR_INVALID_OPTION')) throw err;
    console.error(err.message);
    process.exit(2);
  });
  const server = serve(
    { fetch: createApp(audit).fetch, hostname: '127.0.0.1', port: Number(process.env.PORT ?? 3000) },
    (info) => console.log(`listening on http://127.0.0.1:${info.port}`),
  );
  // Graceful shutdown: stop accepting, let in-flight requests finish (each is captured before its
  // response is sent), then drain the audit to OpenSearch or the spool, then exit.
  const stop = () => {
    server.close(async () => {
      const stats = await audit.close().catch((err: Error) => ({ error: err.message }));
      console.log(`audit closed ${JSON.stringify(stats)}`);
      process.exit('error' in stats ? 1 : 0);
    });
    (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
