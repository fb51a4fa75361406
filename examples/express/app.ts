// The same platform-shaped API on Express, audited with @pdaas/audit. Run this file to serve it on
// 127.0.0.1:3001.
import { randomUUID } from 'node:crypto';
import { type Audit, createAudit, isAuditError } from '@pdaas/audit';
import { auditAs, expressAudit, expressMetrics } from '@pdaas/audit/express';
import express, { type Express } from 'express';

const resources = [
  'policies',
  'organizations',
  'accounts',
  'memberships',
  'groups',
  'service-accounts',
] as const;

export function createApp(audit?: Audit): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '1mb' }));
  app.use(express.urlencoded({ extended: false }));
  if (audit) {
    app.use(expressAudit(audit));
    app.get('/metrics', expressMetrics(audit));
  }
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.post('/authentication/login', auditAs({ action: 'authentication.login' }), (req, res) => {
    res.json({ token: 'eyJhbGciOiJIUzI1NiJ9.e30.sig', user: req.body?.username ?? 'anonymous' });
  });
  app.post('/authentication/logout', auditAs({ action: 'authentication.logout' }), (_req, res) => {
    res.status(204).end();
  });
  for (const r of resources) {
    app.get(`/${r}`, (_req, res) => {
      res.json({ items: [], resource: r });
    });
    app.post(`/${r}`, (req, res) => {
      res.status(201).json({ id: randomUUID(), ...req.body });
    });
    app.get(`/${r}/:id`, (req, res) => {
      res.json({ id: req.params.id, resource: r });
    });
    app.patch(`/${r}/:id`, (req, res) => {
      res.json({ id: req.params.id, ...req.body });
    });
    app.delete(`/${r}/:id`, (_req, res) => {
      res.status(204).end();
    });
  }
  app.post('/policies/:id/evaluate', auditAs({ action: 'policies.evaluate' }), (_req, res) => {
    res.json({ allowed: true });
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
  const server = createApp(audit).listen(Number(process.env.PORT ?? 3001), '127.0.0.1');
  const stop = async () => {
    server.close();
    await audit.close();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
