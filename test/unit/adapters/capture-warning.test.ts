// Capture failures are not silent (issue #13): the first is logged at once with the error's
// message, then one line a minute while they continue; stats() and the close line count them.
// The README's resolve without `?.` is the case: a request without a user (a failed login) makes
// it throw. With the real Audit and its worker (run `npm run build` first), no OpenSearch.
import { rm } from 'node:fs/promises';
import { Hono } from 'hono';
import { Registry } from 'prom-client';
import { afterEach, expect, it, vi } from 'vitest';
import { honoAudit } from '../../../src/adapters/hono.js';
import { createAudit } from '../../../src/audit.js';
import { tempDir } from '../../support/faults.js';
import { collectLogs } from '../../support/logs.js';

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const done of cleanup.splice(0)) await done();
  vi.unstubAllEnvs();
  vi.useRealTimers();
});

it('warns about a throwing resolve once, then once a minute, with the message; counts every request', async () => {
  vi.stubEnv('AUDIT_OPENSEARCH_HOST', undefined);
  const spoolDir = tempDir('capture-warning');
  const logs = collectLogs();
  const audit = await createAudit({
    workers: 1,
    spoolDir,
    flushIntervalSeconds: 0.05,
    registry: new Registry(),
    logger: logs.logger,
  });
  cleanup.push(async () => {
    await audit.close().catch(() => undefined);
    await rm(spoolDir, { recursive: true, force: true });
  });
  const app = new Hono<{ Variables: { user?: { id: string } } }>();
  app.use(
    honoAudit(audit, {
      // As a newcomer writes it: throws for a request without a user.
      resolve: (c) => ({ actorId: (c.get('user') as { id: string }).id }),
    }),
  );
  app.post('/login', (c) => c.json({ error: 'bad credentials' }, 401));

  const warnings = () =>
    logs.lines.filter((l) => l.startsWith('warn Audit could not read part of a request'));
  for (let i = 0; i < 5; i++) expect((await app.request('/login', { method: 'POST' })).status).toBe(401);
  expect(warnings()).toHaveLength(1);
  expect(warnings()[0]).toContain(
    'audit: principal unreadable (TypeError): Cannot read properties of undefined',
  );
  expect(warnings()[0]).toContain('"requests":1');

  // A minute later, while it continues: one more line, counting what came in between.
  vi.useFakeTimers({ now: Date.now() + 61_000, toFake: ['Date'] });
  expect((await app.request('/login', { method: 'POST' })).status).toBe(401);
  expect(warnings()).toHaveLength(2);
  expect(warnings()[1]).toContain('"requests":5');
  expect(warnings()[1]).toContain('"total":6');
  vi.useRealTimers();

  expect(audit.stats().captureErrors).toBe(6);
  const final = await audit.close();
  // Every request still has its event, with the principal unknown.
  expect(final.captured).toBe(6);
  expect(final.spooled + final.indexed).toBe(6);
  expect(final.dropped.total).toBe(0);
  const closed = logs.lines.find((l) => l.startsWith('info Audit system closed'));
  expect(closed).toContain('"captureErrors":6');
});

it('redacts the cause it logs, and a logger that throws never reaches the request', async () => {
  vi.stubEnv('AUDIT_OPENSEARCH_HOST', undefined);
  const spoolDir = tempDir('capture-warning');
  const logs = collectLogs();
  let throwing = false;
  const logger = {
    ...logs.logger,
    warn: (fields: Record<string, unknown>, msg: string) => {
      if (throwing) throw new Error('logger broke');
      logs.logger.warn(fields, msg);
    },
  };
  const audit = await createAudit({ workers: 1, spoolDir, registry: new Registry(), logger });
  cleanup.push(async () => {
    await audit.close().catch(() => undefined);
    await rm(spoolDir, { recursive: true, force: true });
  });
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1LTEifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
  const app = new Hono();
  app.use(
    honoAudit(audit, {
      resolve: () => {
        throw new Error(`bad token ${jwt}`);
      },
    }),
  );
  app.get('/x', (c) => c.text('ok'));
  expect((await app.request('/x')).status).toBe(200);
  const line = logs.lines.find((l) => l.startsWith('warn Audit could not read part of a request'));
  expect(line).toContain('bad token');
  expect(line).not.toContain(jwt);

  // A minute later the warning is due again, and the logger throws: the request is not affected.
  throwing = true;
  vi.useFakeTimers({ now: Date.now() + 61_000, toFake: ['Date'] });
  expect((await app.request('/x')).status).toBe(200);
  vi.useRealTimers();
  expect(audit.stats()).toMatchObject({ captured: 2, captureErrors: 2 });
});
