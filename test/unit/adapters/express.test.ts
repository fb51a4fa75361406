import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { Gauge } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { auditAs, expressAudit, expressMetrics } from '../../../src/adapters/express.js';
import { BodyKind, type CapturedEvent, Phase } from '../../../src/event.js';
import { type FakeAudit, fakeAudit } from '../../support/fake-audit.js';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

const servers: Server[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  }
});

/** Starts `app` on 127.0.0.1 and a free port; returns its base URL. Closed after each test. */
async function listen(app: Express): Promise<string> {
  const server = app.listen(0, '127.0.0.1');
  servers.push(server);
  await new Promise<void>((ok, fail) => {
    server.once('listening', ok);
    server.once('error', fail);
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Sends a request and reads the whole answer. */
async function call(url: string, init?: RequestInit): Promise<{ status: number; text: string }> {
  const res = await fetch(url, init);
  return { status: res.status, text: await res.text() };
}

function post(body: string, contentType: string, headers: Record<string, string> = {}): RequestInit {
  return { method: 'POST', body, headers: { 'content-type': contentType, ...headers } };
}

function bodyText(e: CapturedEvent): string {
  expect(Buffer.isBuffer(e.body) || e.body instanceof Uint8Array).toBe(true);
  return Buffer.from(e.body as Uint8Array).toString('utf8');
}

/** An app with the audit first, express.json() and the routes the tests share. */
function policiesApp(f: FakeAudit, options?: Parameters<typeof expressAudit>[1]): Express {
  const app = express();
  app.use(expressAudit(f.audit, options));
  app.use(express.json());
  app.get('/policies/:id', async (req, res) => {
    await sleep(2); // a handler that takes some time, so durationMs is measurably above 0
    res.json({ id: req.params.id });
  });
  app.post('/policies', (req, res) => {
    res.status(201).json({ created: (req.body as { name?: string }).name });
  });
  return app;
}

describe('expressAudit: the event of a request', () => {
  it('records every field of a GET from the request, the matched route and the response', async () => {
    const f = fakeAudit();
    const base = await listen(policiesApp(f));
    const tsBefore = Date.now();
    const res = await call(`${base}/policies/pol-1?expand=rules&page=2`, {
      headers: {
        'x-actor-id': 'alice',
        'x-actor-type': 'user',
        'x-organization-id': 'org-1',
        'x-account-id': 'acc-1',
        traceparent: TRACEPARENT,
        'x-request-id': 'req-1',
        'user-agent': 'vitest-agent/1.0',
      },
    });
    expect(res).toEqual({ status: 200, text: '{"id":"pol-1"}' });
    const e = await f.event(1);
    expect(e).toEqual({
      ts: expect.any(Number),
      seq: 0,
      method: 'GET',
      path: '/policies/pol-1',
      query: 'expand=rules&page=2',
      route: '/policies/:id',
      status: 200,
      durationMs: expect.any(Number),
      actorId: 'alice',
      actorType: 'user',
      organizationId: 'org-1',
      accountId: 'acc-1',
      action: 'policies.read',
      target: 'policy:pol-1',
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      requestId: 'req-1',
      clientIp: '127.0.0.1',
      userAgent: 'vitest-agent/1.0',
      contentType: '',
      bodyKind: BodyKind.NONE,
      body: null,
      bodySize: -1,
      bodyTruncated: false,
      error: '',
      phase: Phase.NONE,
      intentId: '',
    } satisfies CapturedEvent);
    expect(e.ts).toBeGreaterThanOrEqual(tsBefore);
    expect(e.ts).toBeLessThanOrEqual(Date.now());
    expect(e.durationMs).toBeGreaterThan(0);
    expect(f.events).toHaveLength(1);
  });

  it('records every field of a JSON POST, with the value express.json() parsed', async () => {
    const f = fakeAudit();
    const base = await listen(policiesApp(f, { clientIp: () => '198.51.100.4' }));
    const payload = { name: 'billing-read', rules: [{ effect: 'allow', actions: ['invoices:read'] }] };
    const text = JSON.stringify(payload);
    const res = await call(
      `${base}/policies`,
      post(text, 'application/json', {
        'x-actor-id': 'bob',
        'x-organization-id': 'org-2',
        'x-request-id': 'r-2',
      }),
    );
    expect(res).toEqual({ status: 201, text: '{"created":"billing-read"}' });
    expect(await f.event(1)).toEqual({
      ts: expect.any(Number),
      seq: 0,
      method: 'POST',
      path: '/policies',
      query: '',
      route: '/policies',
      status: 201,
      durationMs: expect.any(Number),
      actorId: 'bob',
      actorType: '',
      organizationId: 'org-2',
      accountId: '',
      action: 'policies.create',
      target: 'policies',
      traceId: 'r-2',
      requestId: 'r-2',
      clientIp: '198.51.100.4',
      userAgent: 'node',
      contentType: 'application/json',
      bodyKind: BodyKind.VALUE,
      body: payload,
      bodySize: Buffer.byteLength(text),
      bodyTruncated: false,
      error: '',
      phase: Phase.NONE,
      intentId: '',
    } satisfies CapturedEvent);
  });
});

describe('expressAudit: who made the request', () => {
  it('prefers res.locals.auditPrincipal over the headers', async () => {
    const f = fakeAudit();
    const app = express();
    app.use(expressAudit(f.audit));
    app.use((_req, res, next) => {
      res.locals.auditPrincipal = { actorId: 'svc-1', actorType: 'service', organizationId: 'org-9' };
      next();
    });
    app.get('/policies/:id', (_req, res) => {
      res.send('ok');
    });
    const base = await listen(app);
    await call(`${base}/policies/1`, { headers: { 'x-actor-id': 'spoofed', 'x-account-id': 'acc-x' } });
    const e = await f.event(1);
    expect([e.actorId, e.actorType, e.organizationId, e.accountId]).toEqual([
      'svc-1',
      'service',
      'org-9',
      '',
    ]);
  });

  it('uses options.resolve instead of the default, and empty fields when it returns nothing', async () => {
    const f = fakeAudit();
    const base = await listen(
      policiesApp(f, {
        resolve: (req) => (req.query.anon ? undefined : { actorId: 'from-resolve', accountId: 'acc-r' }),
      }),
    );
    await call(`${base}/policies/1`, { headers: { 'x-actor-id': 'header-actor' } });
    await f.event(1);
    await call(`${base}/policies/1?anon=1`, { headers: { 'x-actor-id': 'header-actor' } });
    await f.event(2);
    expect(f.events.map((e) => [e.actorId, e.accountId, e.organizationId])).toEqual([
      ['from-resolve', 'acc-r', ''],
      ['', '', ''],
    ]);
  });

  it('a resolve function that throws leaves the principal unknown, notes it and counts a capture error; the app is unaffected', async () => {
    const f = fakeAudit();
    const base = await listen(
      policiesApp(f, {
        resolve: () => {
          throw new Error('auth context missing');
        },
      }),
    );
    expect(await call(`${base}/policies/1`, { headers: { 'x-actor-id': 'header-actor' } })).toEqual({
      status: 200,
      text: '{"id":"1"}',
    });
    expect(await f.event(1)).toMatchObject({
      method: 'GET',
      path: '/policies/1',
      route: '/policies/:id',
      status: 200,
      action: 'policies.read',
      target: 'policy:1',
      actorId: '',
      error: 'audit: principal unreadable (Error)',
    });
    expect(f.errors).toEqual(['capture']);
    expect(f.dropped).toEqual([]);
  });
});

describe('expressAudit: action and target', () => {
  it('auditAs() overrides the derived action through res.locals.auditOverride and keeps the derived target', async () => {
    const f = fakeAudit();
    const app = express();
    app.use(expressAudit(f.audit));
    app.post('/policies/:id/evaluate', auditAs({ action: 'policies.evaluate' }), (req, res) => {
      res.json({ override: res.locals.auditOverride, id: req.params.id });
    });
    const base = await listen(app);
    const res = await call(`${base}/policies/pol-4/evaluate`, { method: 'POST' });
    expect(JSON.parse(res.text)).toEqual({ override: { action: 'policies.evaluate' }, id: 'pol-4' });
    expect(await f.event(1)).toMatchObject({
      route: '/policies/:id/evaluate',
      action: 'policies.evaluate',
      target: 'policy:pol-4',
    });
  });

  it('an override with a target replaces the derived target too', async () => {
    const f = fakeAudit();
    const app = express();
    app.use(expressAudit(f.audit));
    app.put('/settings', auditAs({ action: 'settings.replace', target: 'settings:global' }), (_req, res) => {
      res.status(204).end();
    });
    const base = await listen(app);
    expect((await call(`${base}/settings`, { method: 'PUT' })).status).toBe(204);
    expect(await f.event(1)).toMatchObject({
      route: '/settings',
      status: 204,
      action: 'settings.replace',
      target: 'settings:global',
    });
  });
});

describe('expressAudit: request bodies', () => {
  it('notes a body the app did not parse, with its size', async () => {
    const f = fakeAudit();
    const app = express();
    app.use(expressAudit(f.audit));
    app.post('/policies', (_req, res) => {
      res.status(202).end();
    });
    const base = await listen(app);
    await call(`${base}/policies`, post('{"name":"p"}', 'application/json'));
    expect(await f.event(1)).toMatchObject({
      contentType: 'application/json',
      bodyKind: BodyKind.NOTE,
      body: 'body not parsed by the app',
      bodySize: 12,
      bodyTruncated: false,
    });
  });

  it('keeps the text express.text() parsed, truncated at maxBodySize with the whole size', async () => {
    const f = fakeAudit({ maxBodySize: 16 });
    const app = express();
    app.use(expressAudit(f.audit));
    app.use(express.text());
    app.post('/notes', (req, res) => {
      res.send(`got ${(req.body as string).length}`);
    });
    const base = await listen(app);
    const short = 'hello audit';
    const long = 'y'.repeat(100);
    expect((await call(`${base}/notes`, post(short, 'text/plain'))).text).toBe('got 11');
    expect((await call(`${base}/notes`, post(long, 'text/plain'))).text).toBe('got 100');
    await f.event(2);
    expect(f.events[0]).toMatchObject({
      bodyKind: BodyKind.TEXT,
      body: short,
      bodySize: 11,
      bodyTruncated: false,
    });
    expect(f.events[1]).toMatchObject({
      bodyKind: BodyKind.TEXT,
      body: long.slice(0, 16),
      bodySize: 100,
      bodyTruncated: true,
    });
  });

  it('keeps the bytes express.raw() left in req.body, truncated at maxBodySize', async () => {
    const f = fakeAudit({ maxBodySize: 16 });
    const app = express();
    app.use(expressAudit(f.audit));
    app.use(express.raw({ type: 'application/json' }));
    app.post('/policies', (req, res) => {
      res.status(201).send(`${(req.body as Buffer).length}`);
    });
    const base = await listen(app);
    const big = JSON.stringify({ description: 'x'.repeat(100) });
    expect((await call(`${base}/policies`, post(big, 'application/json'))).text).toBe(String(big.length));
    const e = await f.event(1);
    expect(e.bodyKind).toBe(BodyKind.BYTES);
    expect(bodyText(e)).toBe(big.slice(0, 16));
    expect([e.bodySize, e.bodyTruncated]).toEqual([big.length, true]);
  });

  it('hands a parsed value over whole, however large (the worker truncates its JSON)', async () => {
    const f = fakeAudit({ maxBodySize: 16 });
    const base = await listen(policiesApp(f));
    const payload = { name: 'n'.repeat(100) };
    await call(`${base}/policies`, post(JSON.stringify(payload), 'application/json'));
    expect(await f.event(1)).toMatchObject({ bodyKind: BodyKind.VALUE, body: payload, bodyTruncated: false });
  });

  it('notes a parsed body of a content type it does not capture, with its size', async () => {
    const f = fakeAudit();
    const app = express();
    app.use(expressAudit(f.audit));
    app.use(express.raw({ type: 'application/octet-stream' }));
    app.post('/uploads', (req, res) => {
      res.status(201).json({ bytes: (req.body as Buffer).length });
    });
    const base = await listen(app);
    const res = await call(`${base}/uploads`, {
      method: 'POST',
      body: new Uint8Array(10).fill(7),
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(res.text).toBe('{"bytes":10}');
    expect(await f.event(1)).toMatchObject({
      contentType: 'application/octet-stream',
      bodyKind: BodyKind.NOTE,
      body: 'application/octet-stream body not captured',
      bodySize: 10,
    });
  });

  it('records no body for a POST without one', async () => {
    const f = fakeAudit();
    const app = express();
    app.use(expressAudit(f.audit));
    app.use(express.json());
    app.post('/policies/:id/archive', (_req, res) => {
      res.status(204).end();
    });
    const base = await listen(app);
    await call(`${base}/policies/1/archive`, { method: 'POST' });
    expect(await f.event(1)).toMatchObject({ bodyKind: BodyKind.NONE, body: null, bodySize: -1 });
  });
});

describe('expressAudit: errors, unmatched routes and aborted requests', () => {
  class PolicyStoreDown extends Error {
    override name = 'PolicyStoreDown';
  }

  /** An app whose GET /policies/:id throws, with an error middleware that answers 500. */
  function throwingApp(f: FakeAudit, seen: unknown[]): Express {
    const app = express();
    app.use(expressAudit(f.audit));
    app.get('/policies/:id', () => {
      throw new PolicyStoreDown('store unreachable');
    });
    app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
      seen.push(err);
      res.status(500).json({ error: err.message });
    });
    return app;
  }

  it("records a handler that throws with the status the app's error handler sent, and the handler gets the error", async () => {
    const f = fakeAudit();
    const seen: unknown[] = [];
    const base = await listen(throwingApp(f, seen));
    expect(await call(`${base}/policies/3`)).toEqual({ status: 500, text: '{"error":"store unreachable"}' });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeInstanceOf(PolicyStoreDown);
    expect(await f.event(1)).toMatchObject({
      path: '/policies/3',
      route: '/policies/:id',
      status: 500,
      action: 'policies.read',
      // As in the Hono adapter, the error's name (read where router >= 2.3, Express 5, records it).
      error: 'PolicyStoreDown',
    });
  });

  // When the error leaves the route, Express's router gives req.params to the error handler's layer
  // ({}): the adapter keeps the params the route matched with (issue #12).
  it('keeps the target id of a handler that throws', async () => {
    const f = fakeAudit();
    const base = await listen(throwingApp(f, []));
    expect((await call(`${base}/policies/3`)).status).toBe(500);
    expect(await f.event(1)).toMatchObject({ target: 'policy:3' });
  });

  it('records an unmatched route the app answers itself as its status, with an empty route', async () => {
    const f = fakeAudit();
    const app = policiesApp(f);
    app.use((_req, res) => {
      res.status(404).json({ error: 'not found' });
    });
    const base = await listen(app);
    expect((await call(`${base}/nowhere/1?q=2`)).status).toBe(404);
    expect(await f.event(1)).toMatchObject({
      method: 'GET',
      path: '/nowhere/1',
      query: 'q=2',
      route: '',
      status: 404,
      action: 'route.unmatched',
      target: '/nowhere/1',
    });
  });

  // When Express's own final handler answers (a 404 nobody handled, or an error no error middleware
  // caught), the router has restored req.baseUrl and req.params (to undefined) by 'finish': the
  // path comes from req.originalUrl, the route's base and params from when the route matched.
  it("records Express's default 404 with the request path", async () => {
    const f = fakeAudit();
    const base = await listen(policiesApp(f));
    expect((await call(`${base}/nowhere/1`)).status).toBe(404);
    expect(await f.event(1)).toMatchObject({
      path: '/nowhere/1',
      route: '',
      status: 404,
      action: 'route.unmatched',
      target: '/nowhere/1',
    });
  });

  it("records an error Express's default handler answers with the request path, route and error", async () => {
    const f = fakeAudit();
    const app = express();
    app.use(expressAudit(f.audit));
    app.get('/policies/:id', () => {
      throw new PolicyStoreDown('store unreachable');
    });
    const base = await listen(app);
    // Express's final handler logs the error to stderr outside tests only (NODE_ENV=test keeps it quiet).
    expect((await call(`${base}/policies/3`)).status).toBe(500);
    expect(await f.event(1)).toMatchObject({
      path: '/policies/3',
      route: '/policies/:id',
      status: 500,
      action: 'policies.read',
      target: 'policy:3',
      error: 'PolicyStoreDown',
    });
  });

  // The path is req.originalUrl's, read when the audit middleware runs: never prefixed again with
  // the req.baseUrl of a mounted router (once '/v1/v1/policies/7').
  it('records the path of a route in a mounted router once', async () => {
    const f = fakeAudit();
    const router = express.Router();
    router.get('/policies/:id', (req, res) => {
      res.json({ id: req.params.id });
    });
    const app = express();
    app.use(expressAudit(f.audit));
    app.use('/v1', router);
    const base = await listen(app);
    expect((await call(`${base}/v1/policies/7`)).status).toBe(200);
    expect(await f.event(1)).toMatchObject({
      path: '/v1/policies/7',
      route: '/v1/policies/:id',
      action: 'v1.policies.read',
      target: 'policy:7',
    });
  });

  // Mounted under a prefix, the middleware sees req.path without it ('/policies/7'); the path is
  // req.originalUrl's, whole.
  it('records the whole path when the audit is mounted under a prefix', async () => {
    const f = fakeAudit();
    const app = express();
    app.use('/api', expressAudit(f.audit));
    app.get('/api/policies/:id', (_req, res) => {
      res.send('ok');
    });
    const base = await listen(app);
    await call(`${base}/api/policies/7`);
    expect(await f.event(1)).toMatchObject({ path: '/api/policies/7', route: '/api/policies/:id' });
  });

  it('derives the route of a mounted router with its mount path', async () => {
    const f = fakeAudit();
    const router = express.Router();
    router.get('/policies/:id', (_req, res) => {
      res.send('ok');
    });
    const app = express();
    app.use(expressAudit(f.audit));
    app.use('/v1', router);
    const base = await listen(app);
    await call(`${base}/v1/policies/7`);
    expect(await f.event(1)).toMatchObject({
      route: '/v1/policies/:id',
      action: 'v1.policies.read',
      target: 'policy:7',
    });
  });

  it('records a request whose client went away before the answer as 499 ClientClosedRequest', async () => {
    const f = fakeAudit();
    const app = express();
    app.use(expressAudit(f.audit));
    let arrived!: () => void;
    const inHandler = new Promise<void>((ok) => {
      arrived = ok;
    });
    app.get('/slow', () => {
      arrived(); // never answers
    });
    const base = await listen(app);
    const abort = new AbortController();
    const pending = fetch(`${base}/slow`, { signal: abort.signal }).catch((err: Error) => err.name);
    await inHandler;
    abort.abort();
    expect(await pending).toBe('AbortError');
    expect(await f.event(1)).toMatchObject({
      path: '/slow',
      route: '/slow',
      status: 499,
      error: 'ClientClosedRequest',
    });
    expect(f.events).toHaveLength(1);
  });
});

describe('expressAudit: a part that cannot be read still yields the event (issue #12)', () => {
  it('keeps the event without a client address when clientIp() throws, and notes it', async () => {
    const f = fakeAudit();
    const base = await listen(
      policiesApp(f, {
        clientIp: () => {
          throw new TypeError('no socket');
        },
      }),
    );
    expect((await call(`${base}/policies/7`)).status).toBe(200);
    expect(await f.event(1)).toMatchObject({
      path: '/policies/7',
      status: 200,
      target: 'policy:7',
      clientIp: '',
      error: 'audit: client ip unreadable (TypeError)',
    });
    expect(f.errors).toEqual(['capture']);
  });

  it('records a body a parser refused with a body note and the parser error, when an error handler answers', async () => {
    const f = fakeAudit();
    const app = policiesApp(f);
    app.use((_err: Error, _req: Request, res: Response, _next: NextFunction) => {
      res.status(400).json({ error: 'invalid JSON' });
    });
    const base = await listen(app);
    const broken = '{"name":';
    expect(await call(`${base}/policies`, post(broken, 'application/json'))).toEqual({
      status: 400,
      text: '{"error":"invalid JSON"}',
    });
    expect(await f.event(1)).toMatchObject({
      path: '/policies',
      status: 400,
      error: 'SyntaxError',
      bodyKind: BodyKind.NOTE,
      body: 'body parser failed (entity.parse.failed)',
      bodySize: broken.length,
    });
  });

  it('keeps the route and params of a request whose body parser failed on the route itself', async () => {
    const f = fakeAudit();
    const app = express();
    app.use(expressAudit(f.audit));
    app.put('/policies/:id', express.json(), (_req, res) => {
      res.status(204).end();
    });
    app.use((_err: Error, _req: Request, res: Response, _next: NextFunction) => {
      res.status(400).end();
    });
    const base = await listen(app);
    expect(
      (await call(`${base}/policies/9`, { ...post('nope', 'application/json'), method: 'PUT' })).status,
    ).toBe(400);
    expect(await f.event(1)).toMatchObject({
      route: '/policies/:id',
      status: 400,
      action: 'policies.update',
      target: 'policy:9',
      error: 'SyntaxError',
      body: 'body parser failed (entity.parse.failed)',
    });
  });

  it('counts an event the audit cannot take as dropped, with a reason, and the app is unaffected', async () => {
    const f = fakeAudit();
    vi.spyOn(f.audit, 'capture').mockImplementation(() => {
      throw new Error('ring gone');
    });
    const base = await listen(policiesApp(f));
    expect((await call(`${base}/policies/1`)).status).toBe(200);
    await vi.waitFor(() => expect(f.dropped).toEqual(['capture threw']));
    expect(f.errors).toEqual(['capture']);
  });

  it('keeps the params a route matched with when a mounted router answers through the final handler', async () => {
    const f = fakeAudit();
    const router = express.Router();
    router.delete('/members/:userId', () => {
      throw new RangeError('gone');
    });
    const app = express();
    app.use(expressAudit(f.audit));
    app.use('/v1', router);
    const base = await listen(app);
    expect((await call(`${base}/v1/members/u-2?x=1`, { method: 'DELETE' })).status).toBe(500);
    expect(await f.event(1)).toMatchObject({
      path: '/v1/members/u-2',
      query: 'x=1',
      route: '/v1/members/:userId',
      status: 500,
      action: 'v1.members.delete',
      target: 'member:u-2',
      error: 'RangeError',
    });
  });

  // Two audit middlewares on one request (two audits, or the same one mounted twice): each keeps
  // the route as it matched, and the app still reads req.route as Express set it.
  it('keeps the matched route for each of two audit middlewares on one request', async () => {
    const first = fakeAudit();
    const second = fakeAudit();
    const seenByApp: unknown[] = [];
    const router = express.Router();
    router.use(expressAudit(second.audit));
    router.delete('/members/:userId', (req) => {
      seenByApp.push((req.route as { path?: unknown } | undefined)?.path);
      throw new RangeError('gone');
    });
    const app = express();
    app.use(expressAudit(first.audit));
    app.use('/v1', router);
    const base = await listen(app);
    expect((await call(`${base}/v1/members/u-3`, { method: 'DELETE' })).status).toBe(500);
    const expected = {
      path: '/v1/members/u-3',
      route: '/v1/members/:userId',
      status: 500,
      target: 'member:u-3',
      error: 'RangeError',
    };
    expect(await first.event(1)).toMatchObject(expected);
    expect(await second.event(1)).toMatchObject(expected);
    expect(seenByApp).toEqual(['/members/:userId']);
  });
});

describe('expressAudit: switched off', () => {
  it('captures nothing for an excluded path, and the handler still runs', async () => {
    const f = fakeAudit({ excludedPaths: ['/health', '/internal/*'] });
    const app = policiesApp(f);
    app.get('/health', (_req, res) => {
      res.send('up');
    });
    app.get('/internal/metrics', (_req, res) => {
      res.send('m');
    });
    const base = await listen(app);
    expect((await call(`${base}/health`)).text).toBe('up');
    expect((await call(`${base}/internal/metrics`)).text).toBe('m');
    // A request that is audited: its event is the first one.
    await call(`${base}/policies/1`);
    expect((await f.event(1)).path).toBe('/policies/1');
    expect(f.asked).toEqual(['/health', '/internal/metrics', '/policies/1']);
    expect(f.events).toHaveLength(1);
  });

  it('captures nothing and asks nothing when the audit is not active, and the handler still runs', async () => {
    const f = fakeAudit({ active: false });
    const base = await listen(policiesApp(f));
    expect(await call(`${base}/policies/1`)).toEqual({ status: 200, text: '{"id":"1"}' });
    expect((await call(`${base}/policies`, post('{"name":"x"}', 'application/json'))).status).toBe(201);
    // Give a 'finish' listener, had one been attached, the chance to run.
    await sleep(20);
    expect(f.events).toEqual([]);
    expect(f.asked).toEqual([]);
    expect(f.errors).toEqual([]);
  });
});

describe('expressMetrics', () => {
  it("serves the audit's registry with its content type", async () => {
    const f = fakeAudit();
    new Gauge({ name: 'fake_gauge', help: 'a gauge', registers: [f.audit.registry] }).set(42);
    const app = express();
    app.get('/metrics', expressMetrics(f.audit));
    const base = await listen(app);
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(f.audit.registry.contentType);
    expect(await res.text()).toContain('fake_gauge 42');
  });

  it('is not audited, wherever it is mounted, while the routes beside it are', async () => {
    const f = fakeAudit();
    const app = express();
    app.use(expressAudit(f.audit));
    app.get('/ops/prometheus', expressMetrics(f.audit));
    app.get('/policies/:id', (_req, res) => res.send('ok'));
    const base = await listen(app);
    expect((await call(`${base}/ops/prometheus`)).status).toBe(200);
    expect((await call(`${base}/policies/1`)).status).toBe(200);
    expect(f.events.map((e) => e.path)).toEqual(['/policies/1']);
  });
});
