import { type AddressInfo, connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { Gauge } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import { auditAs, honoAudit, honoMetrics } from '../../../src/adapters/hono.js';
import { BodyKind, type CapturedEvent, Phase } from '../../../src/event.js';
import { type FakeAudit, fakeAudit } from '../../support/fake-audit.js';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

/** A request body with the content-length a real HTTP server would see. */
function jsonRequest(method: string, body: unknown, headers: Record<string, string> = {}): RequestInit {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return {
    method,
    body: text,
    headers: {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(text)),
      ...headers,
    },
  };
}

/** The one event the fake recorded. */
function only(f: FakeAudit): CapturedEvent {
  expect(f.events).toHaveLength(1);
  return f.events[0] as CapturedEvent;
}

function bodyText(e: CapturedEvent): string {
  expect(e.body).toBeInstanceOf(Uint8Array);
  return Buffer.from(e.body as Uint8Array).toString('utf8');
}

/** Rejects with `what` when `promise` has not settled within `ms`: a deadline, not a speed target. */
async function within<T>(ms: number, promise: Promise<T> | T, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `app` under a real @hono/node-server on 127.0.0.1 and a free port while `use` runs. */
async function withServer(app: Hono, use: (port: number) => Promise<void>): Promise<void> {
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  try {
    await new Promise<void>((ok) => (server.listening ? ok() : server.once('listening', () => ok())));
    await use((server.address() as AddressInfo).port);
  } finally {
    (server as { closeAllConnections?: () => void }).closeAllConnections?.();
    await new Promise((done) => server.close(done));
  }
}

/** A raw TCP client: it sends exactly the bytes a test writes, and no more. */
function rawClient(port: number): { socket: Socket; statusLine: Promise<string> } {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  let got = '';
  const statusLine = new Promise<string>((ok) => {
    socket.on('data', (chunk) => {
      got += chunk.toString('latin1');
      const end = got.indexOf('\r\n');
      if (end >= 0) ok(got.slice(0, end));
    });
  });
  return { socket, statusLine };
}

/** A promise and the function that resolves it: a handler signals that it runs. */
function signal(): { reached: Promise<void>; reach: () => void } {
  let reach!: () => void;
  const reached = new Promise<void>((ok) => {
    reach = ok;
  });
  return { reached, reach };
}

/** An app with the audit first and the routes the tests share. */
function policiesApp(f: FakeAudit, options?: Parameters<typeof honoAudit>[1]): Hono {
  const app = new Hono();
  app.use(honoAudit(f.audit, options));
  app.get('/policies/:id', async (c) => {
    await sleep(2); // a handler that takes some time, so durationMs is measurably above 0
    return c.json({ id: c.req.param('id') });
  });
  app.post('/policies', async (c) => {
    const body = await c.req.json<{ name: string }>();
    return c.json({ created: body.name }, 201);
  });
  return app;
}

describe('honoAudit: the event of a request', () => {
  it('records every field of a GET from the request, the matched route and the response', async () => {
    const f = fakeAudit();
    const app = policiesApp(f, { clientIp: () => '203.0.113.7' });
    const tsBefore = Date.now();
    const clockBefore = performance.now();
    const res = await app.request('/policies/pol-1?expand=rules&page=2', {
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
    const clockAfter = performance.now();
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id: 'pol-1' });

    const e = only(f);
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
      clientIp: '203.0.113.7',
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
    // The hot-path clock the adapter hands over starts within the request.
    expect(f.startedAt[0]).toBeGreaterThanOrEqual(clockBefore);
    expect(f.startedAt[0]).toBeLessThanOrEqual(clockAfter);
  });

  it('records every field of a JSON POST, with the body the handler parsed through c.req.json()', async () => {
    // Hono 4.13 caches the text behind c.req.json(), so the body travels as that text; the worker
    // parses it.
    const f = fakeAudit();
    const app = policiesApp(f);
    const payload = { name: 'billing-read', rules: [{ effect: 'allow', actions: ['invoices:read'] }] };
    const text = JSON.stringify(payload);
    const res = await app.request(
      '/policies',
      jsonRequest('POST', text, { 'x-actor-id': 'bob', 'x-organization-id': 'org-2' }),
    );
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ created: 'billing-read' });

    expect(only(f)).toEqual({
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
      traceId: '',
      requestId: '',
      clientIp: '',
      userAgent: '',
      contentType: 'application/json',
      bodyKind: BodyKind.TEXT,
      body: text,
      bodySize: Buffer.byteLength(text),
      bodyTruncated: false,
      error: '',
      phase: Phase.NONE,
      intentId: '',
    } satisfies CapturedEvent);
  });

  it('takes the trace id from x-request-id when there is no traceparent, or a malformed one', async () => {
    const f = fakeAudit();
    const app = policiesApp(f);
    await app.request('/policies/1', { headers: { 'x-request-id': 'req-9' } });
    await app.request('/policies/1', { headers: { 'x-request-id': 'req-10', traceparent: '00-short-01' } });
    expect(f.events.map((e) => [e.traceId, e.requestId])).toEqual([
      ['req-9', 'req-9'],
      ['req-10', 'req-10'],
    ]);
  });

  it('caps header-derived fields, so a huge header does not become a huge event', async () => {
    const f = fakeAudit();
    const app = policiesApp(f);
    await app.request('/policies/1', {
      headers: {
        'x-actor-id': 'a'.repeat(1000),
        'user-agent': 'u'.repeat(2000),
        'x-request-id': 'r'.repeat(999),
      },
    });
    const e = only(f);
    expect(e.actorId).toBe('a'.repeat(256));
    expect(e.userAgent).toBe('u'.repeat(512));
    expect(e.requestId).toBe('r'.repeat(256));
  });

  it('reads the client address and headers from the Node request under @hono/node-server', async () => {
    const f = fakeAudit();
    const app = policiesApp(f);
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
    try {
      await new Promise<void>((ok) => (server.listening ? ok() : server.once('listening', () => ok())));
      const { port } = server.address() as AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port}/policies/p-7?x=1`, {
        headers: { 'x-actor-id': 'carol', 'x-organization-id': 'org-3', 'user-agent': 'node-agent' },
      });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      const e = await f.event(1);
      expect(e).toMatchObject({
        method: 'GET',
        path: '/policies/p-7',
        query: 'x=1',
        route: '/policies/:id',
        status: 200,
        actorId: 'carol',
        organizationId: 'org-3',
        action: 'policies.read',
        target: 'policy:p-7',
        clientIp: '127.0.0.1',
        userAgent: 'node-agent',
      });
    } finally {
      await new Promise((done) => server.close(done));
    }
  });
});

describe('honoAudit: who made the request', () => {
  it('prefers the principal the app set with c.set("auditPrincipal") over the headers', async () => {
    const f = fakeAudit();
    const app = new Hono();
    app.use(honoAudit(f.audit));
    app.use(async (c, next) => {
      c.set('auditPrincipal', { actorId: 'svc-1', actorType: 'service', organizationId: 'org-9' });
      await next();
    });
    app.get('/policies/:id', (c) => c.text('ok'));
    await app.request('/policies/1', { headers: { 'x-actor-id': 'spoofed', 'x-account-id': 'acc-x' } });
    const e = only(f);
    expect([e.actorId, e.actorType, e.organizationId, e.accountId]).toEqual([
      'svc-1',
      'service',
      'org-9',
      '',
    ]);
  });

  it('uses options.resolve instead of the default, and empty fields when it returns nothing', async () => {
    const f = fakeAudit();
    let calls = 0;
    const app = policiesApp(f, {
      resolve: (c) => {
        calls++;
        return c.req.query('anon') ? undefined : { actorId: 'from-resolve', accountId: 'acc-r' };
      },
    });
    await app.request('/policies/1', { headers: { 'x-actor-id': 'header-actor' } });
    await app.request('/policies/1?anon=1', { headers: { 'x-actor-id': 'header-actor' } });
    expect(calls).toBe(2);
    expect(f.events.map((e) => [e.actorId, e.accountId, e.organizationId])).toEqual([
      ['from-resolve', 'acc-r', ''],
      ['', '', ''],
    ]);
  });

  it('a resolve function that throws leaves the principal unknown, notes it and counts a capture error; the app is unaffected', async () => {
    const f = fakeAudit();
    const app = policiesApp(f, {
      resolve: () => {
        throw new Error('auth context missing');
      },
    });
    const res = await app.request('/policies/1', { headers: { 'x-actor-id': 'header-actor' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id: '1' });
    expect(only(f)).toMatchObject({
      method: 'GET',
      path: '/policies/1',
      route: '/policies/:id',
      status: 200,
      action: 'policies.read',
      target: 'policy:1',
      actorId: '',
      organizationId: '',
      error: 'audit: principal unreadable (Error)',
    });
    expect(f.errors).toEqual(['capture']);
    expect(f.dropped).toEqual([]);
  });
});

describe('honoAudit: action and target', () => {
  it('auditAs() overrides the derived action and keeps the derived target', async () => {
    const f = fakeAudit();
    const app = new Hono();
    app.use(honoAudit(f.audit));
    app.post('/policies/:id/evaluate', auditAs({ action: 'policies.evaluate' }), (c) =>
      c.json({ allow: true }),
    );
    await app.request('/policies/pol-4/evaluate', { method: 'POST' });
    expect(only(f)).toMatchObject({
      route: '/policies/:id/evaluate',
      action: 'policies.evaluate',
      target: 'policy:pol-4',
    });
  });

  it('an override with a target replaces the derived target too, also when set by c.set("auditOverride")', async () => {
    const f = fakeAudit();
    const app = new Hono();
    app.use(honoAudit(f.audit));
    app.put('/settings', (c) => {
      c.set('auditOverride', { action: 'settings.replace', target: 'settings:global' });
      return c.body(null, 204);
    });
    await app.request('/settings', { method: 'PUT' });
    expect(only(f)).toMatchObject({
      route: '/settings',
      status: 204,
      action: 'settings.replace',
      target: 'settings:global',
    });
  });

  it('derives the action from the route of a sub-app mounted with app.route()', async () => {
    const f = fakeAudit();
    const api = new Hono();
    api.delete('/policies/:id', (c) => c.body(null, 204));
    const app = new Hono();
    app.use(honoAudit(f.audit));
    app.route('/v1', api);
    await app.request('/v1/policies/p-2', { method: 'DELETE' });
    expect(only(f)).toMatchObject({
      path: '/v1/policies/p-2',
      route: '/v1/policies/:id',
      action: 'v1.policies.delete',
      target: 'policy:p-2',
      status: 204,
    });
  });
});

describe('honoAudit: request bodies', () => {
  it('notes a body the handler never read with its declared size, and leaves the stream alone', async () => {
    // The audit never reads a body itself: waiting for it would hold the response (issue #12).
    const f = fakeAudit();
    const app = new Hono();
    app.use(honoAudit(f.audit));
    app.post('/policies', (c) => c.text('accepted', 202));
    const text = JSON.stringify({ name: 'unread' });
    const res = await app.request('/policies', jsonRequest('POST', text));
    expect(res.status).toBe(202);
    expect(only(f)).toMatchObject({
      bodyKind: BodyKind.NOTE,
      body: 'body not read by the handler',
      bodySize: Buffer.byteLength(text),
      bodyTruncated: false,
    });
  });

  it('keeps the text the handler read with c.req.text()', async () => {
    const f = fakeAudit();
    const app = new Hono();
    app.use(honoAudit(f.audit));
    app.post('/notes', async (c) => c.text(`got ${(await c.req.text()).length}`));
    const res = await app.request('/notes', {
      method: 'POST',
      body: 'hello audit',
      headers: { 'content-type': 'text/plain', 'content-length': '11' },
    });
    expect(await res.text()).toBe('got 11');
    expect(only(f)).toMatchObject({
      contentType: 'text/plain',
      bodyKind: BodyKind.TEXT,
      body: 'hello audit',
      bodySize: 11,
      bodyTruncated: false,
    });
  });

  it('keeps the raw bytes of a form the handler parsed with c.req.parseBody()', async () => {
    const f = fakeAudit();
    const app = new Hono();
    app.use(honoAudit(f.audit));
    app.post('/members', async (c) => c.json(await c.req.parseBody(), 201));
    const form = 'name=dora&role=admin';
    const res = await app.request('/members', {
      method: 'POST',
      body: form,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(form.length) },
    });
    expect(await res.json()).toEqual({ name: 'dora', role: 'admin' });
    const e = only(f);
    expect(e.bodyKind).toBe(BodyKind.BYTES);
    expect(bodyText(e)).toBe(form);
  });

  it('truncates a body over maxBodySize read as text, and records the whole size', async () => {
    const f = fakeAudit({ maxBodySize: 16 });
    const app = new Hono();
    app.use(honoAudit(f.audit));
    app.post('/text', async (c) => c.text(`read ${(await c.req.text()).length}`));
    const big = JSON.stringify({ description: 'x'.repeat(100) });
    const size = Buffer.byteLength(big);
    const res = await app.request('/text', jsonRequest('POST', big));
    // The handler still gets the whole body.
    expect(await res.text()).toBe(`read ${size}`);
    expect(only(f)).toMatchObject({
      bodyKind: BodyKind.TEXT,
      body: big.slice(0, 16),
      bodySize: size,
      bodyTruncated: true,
    });
  });

  it('hands a value found parsed in the body cache over whole, however large (the worker truncates it)', async () => {
    // Hono versions before 4.13 (and middleware that fills the cache) keep the parsed JSON under
    // bodyCache.json; the adapter then takes the value, not bytes.
    const f = fakeAudit({ maxBodySize: 16 });
    const app = new Hono();
    app.use(honoAudit(f.audit));
    const payload = { name: 'n'.repeat(100) };
    app.post('/policies', (c) => {
      (c.req.bodyCache as { json?: Promise<unknown> }).json = Promise.resolve(payload);
      return c.body(null, 201);
    });
    await app.request('/policies', jsonRequest('POST', payload));
    expect(only(f)).toMatchObject({
      bodyKind: BodyKind.VALUE,
      body: payload,
      bodySize: JSON.stringify(payload).length,
      bodyTruncated: false,
    });
  });

  it('truncates the text behind c.req.json() at maxBodySize, while the handler gets the whole value', async () => {
    const f = fakeAudit({ maxBodySize: 16 });
    const app = policiesApp(f);
    const payload = { name: 'n'.repeat(100) };
    const text = JSON.stringify(payload);
    const res = await app.request('/policies', jsonRequest('POST', payload));
    expect(await res.json()).toEqual({ created: payload.name });
    expect(only(f)).toMatchObject({
      bodyKind: BodyKind.TEXT,
      body: text.slice(0, 16),
      bodySize: text.length,
      bodyTruncated: true,
    });
  });

  it('notes a body of a content type it does not capture, with its size, and leaves it to the handler', async () => {
    const f = fakeAudit();
    const app = new Hono();
    app.use(honoAudit(f.audit));
    app.post('/uploads', async (c) => c.json({ bytes: (await c.req.arrayBuffer()).byteLength }, 201));
    const res = await app.request('/uploads', {
      method: 'POST',
      body: new Uint8Array(10).fill(7),
      headers: { 'content-type': 'application/octet-stream', 'content-length': '10' },
    });
    expect(await res.json()).toEqual({ bytes: 10 });
    expect(only(f)).toMatchObject({
      contentType: 'application/octet-stream',
      bodyKind: BodyKind.NOTE,
      body: 'application/octet-stream body not captured',
      bodySize: 10,
      bodyTruncated: false,
    });
  });

  it('records no body for an empty POST', async () => {
    const f = fakeAudit();
    const app = new Hono();
    app.use(honoAudit(f.audit));
    app.post('/policies/:id/archive', (c) => c.body(null, 204));
    await app.request('/policies/1/archive', { method: 'POST', headers: { 'content-length': '0' } });
    expect(only(f)).toMatchObject({ bodyKind: BodyKind.NONE, body: null, bodySize: -1 });
  });

  it('records no body when the request has neither content-length nor transfer-encoding (today)', async () => {
    // A fetch Request built from a string carries no content-length header (app.request, and the
    // same holds for HTTP/2 clients that omit it): the adapter takes that as "no body" and records
    // nothing, not even a note. Documented here as the current behaviour.
    const f = fakeAudit();
    const app = policiesApp(f);
    const res = await app.request('/policies', {
      method: 'POST',
      body: '{"name":"no-length"}',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(201);
    expect(only(f)).toMatchObject({ bodyKind: BodyKind.NONE, body: null, bodySize: -1 });
  });
});

describe('honoAudit: errors and unmatched routes', () => {
  class PolicyStoreDown extends Error {
    override name = 'PolicyStoreDown';
  }

  it('records a handler that throws as a 500 with the error name, and the error still reaches onError', async () => {
    const f = fakeAudit();
    const app = new Hono();
    const seen: unknown[] = [];
    app.onError((err, c) => {
      seen.push(err);
      return c.json({ error: err.message }, 500);
    });
    app.use(honoAudit(f.audit));
    app.get('/policies/:id', () => {
      throw new PolicyStoreDown('store unreachable');
    });
    const res = await app.request('/policies/3');
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: 'store unreachable' });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeInstanceOf(PolicyStoreDown);
    expect(only(f)).toMatchObject({
      status: 500,
      error: 'PolicyStoreDown',
      route: '/policies/:id',
      action: 'policies.read',
      target: 'policy:3',
    });
  });

  it('records a 500 for a throwing handler under the default error handler too', async () => {
    const f = fakeAudit();
    const app = new Hono();
    app.use(honoAudit(f.audit));
    app.post('/policies', () => {
      throw new TypeError('bad');
    });
    // Hono's default handler logs the error with console.error: it got the error, and the test stays quiet.
    const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    let res: Response;
    try {
      res = await app.request('/policies', { method: 'POST' });
      expect(logged).toHaveBeenCalledWith(expect.objectContaining({ name: 'TypeError', message: 'bad' }));
    } finally {
      logged.mockRestore();
    }
    expect(res.status).toBe(500);
    expect(only(f)).toMatchObject({ status: 500, error: 'TypeError', action: 'policies.create' });
  });

  it('records an unmatched route as a 404 with an empty route, route.unmatched and the path as target', async () => {
    const f = fakeAudit();
    const app = policiesApp(f);
    const res = await app.request('/nowhere/1?q=2');
    expect(res.status).toBe(404);
    expect(only(f)).toMatchObject({
      method: 'GET',
      path: '/nowhere/1',
      query: 'q=2',
      route: '',
      status: 404,
      action: 'route.unmatched',
      target: '/nowhere/1',
      error: '',
    });
  });

  it('does not take another catch-all middleware for the matched route', async () => {
    const f = fakeAudit();
    const app = new Hono();
    app.use(honoAudit(f.audit));
    app.use('/*', async (c, next) => {
      await next();
      c.header('x-seen', '1');
    });
    app.get('/policies/:id', (c) => c.text('ok'));
    const res = await app.request('/elsewhere');
    expect(res.status).toBe(404);
    expect(only(f)).toMatchObject({ route: '', action: 'route.unmatched', target: '/elsewhere' });
  });
});

describe('honoAudit: a part that cannot be read still yields the event (issue #12)', () => {
  it('keeps the event without a client address when clientIp() throws, and notes it', async () => {
    const f = fakeAudit();
    const app = policiesApp(f, {
      clientIp: () => {
        throw new TypeError('no socket');
      },
    });
    expect((await app.request('/policies/7')).status).toBe(200);
    expect(only(f)).toMatchObject({
      path: '/policies/7',
      status: 200,
      action: 'policies.read',
      target: 'policy:7',
      clientIp: '',
      error: 'audit: client ip unreadable (TypeError)',
    });
    expect(f.errors).toEqual(['capture']);
  });

  it('keeps the handler error first and the audit notes after it', async () => {
    class PolicyStoreDown extends Error {
      override name = 'PolicyStoreDown';
    }
    const f = fakeAudit();
    const app = new Hono();
    app.onError((_err, c) => c.json({ error: 'down' }, 503));
    app.use(
      honoAudit(f.audit, {
        resolve: () => {
          throw new RangeError('token expired');
        },
      }),
    );
    app.get('/policies/:id', () => {
      throw new PolicyStoreDown('store unreachable');
    });
    expect((await app.request('/policies/3')).status).toBe(503);
    expect(only(f)).toMatchObject({
      status: 503,
      target: 'policy:3',
      error: 'PolicyStoreDown; audit: principal unreadable (RangeError)',
    });
  });

  it('records a body whose read failed as a body note: malformed multipart read with c.req.formData()', async () => {
    const f = fakeAudit();
    const app = new Hono();
    app.use(honoAudit(f.audit));
    app.post('/members', async (c) => {
      try {
        await c.req.formData();
        return c.text('ok');
      } catch {
        return c.json({ error: 'malformed form' }, 400);
      }
    });
    const form = '--XX\r\nContent-Disposition: form-data; name="a"\r\n\r\ncut short';
    const res = await app.request('/members', {
      method: 'POST',
      body: form,
      headers: { 'content-type': 'multipart/form-data; boundary=XX', 'content-length': String(form.length) },
    });
    expect(res.status).toBe(400);
    const e = only(f);
    expect(e).toMatchObject({
      path: '/members',
      status: 400,
      action: 'members.create',
      bodyKind: BodyKind.NOTE,
      bodySize: form.length,
      error: '',
    });
    expect(e.body).toMatch(/^body read failed \(\w+\)$/);
  });

  it('records a body whose read failed as a body note: a client that aborts mid-upload', async () => {
    const f = fakeAudit();
    const app = new Hono();
    const handler = signal();
    app.onError((err, c) => c.json({ error: err.message }, 500));
    app.use(honoAudit(f.audit));
    app.post('/notes', async (c) => {
      const text = c.req.text();
      handler.reach();
      return c.text(`got ${(await text).length}`);
    });
    await withServer(app, async (port) => {
      const { socket } = rawClient(port);
      socket.write(
        'POST /notes HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nten bytes.',
      );
      await within(2000, handler.reached, 'the handler');
      socket.destroy();
      const e = await within(2000, f.event(1), 'the event of the aborted upload');
      expect(e).toMatchObject({
        path: '/notes',
        route: '/notes',
        status: 500,
        bodyKind: BodyKind.NOTE,
        bodySize: 100,
      });
      expect(e.body).toMatch(/^body read failed \(\w+\)$/);
      expect(f.dropped).toEqual([]);
    });
  });

  it('records a chunked body over a bodyLimit() with a body note and the 413', async () => {
    // Passed before the fix as well: bodyLimit() reads the stream itself, outside Hono's cache.
    const f = fakeAudit();
    const app = new Hono();
    app.use(honoAudit(f.audit));
    app.post('/notes', bodyLimit({ maxSize: 8 }), async (c) => c.text(await c.req.text()));
    await withServer(app, async (port) => {
      const { socket, statusLine } = rawClient(port);
      try {
        socket.write(
          'POST /notes HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n',
        );
        expect(await within(2000, statusLine, 'the response')).toBe('HTTP/1.1 413 Payload Too Large');
        expect(await within(2000, f.event(1), 'the event')).toMatchObject({
          route: '/notes',
          status: 413,
          error: 'Error', // hono's HTTPException keeps Error's name
          bodyKind: BodyKind.NOTE,
          body: 'body read by the handler outside the Hono body cache',
          bodySize: -1,
        });
      } finally {
        socket.destroy();
      }
    });
  });

  it('records a POST to an unmatched route whose client closes after the headers', async () => {
    const f = fakeAudit();
    const app = new Hono();
    const notFound = signal();
    app.use(honoAudit(f.audit));
    app.get('/policies/:id', (c) => c.text('ok'));
    app.notFound((c) => {
      notFound.reach();
      return c.json({ error: 'not found' }, 404);
    });
    await withServer(app, async (port) => {
      const { socket } = rawClient(port);
      socket.write(
        'POST /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 64\r\n\r\n',
      );
      await within(2000, notFound.reached, 'the not-found handler');
      socket.destroy();
      expect(await within(2000, f.event(1), 'the event of the unmatched POST')).toMatchObject({
        method: 'POST',
        path: '/nowhere',
        route: '',
        status: 404,
        action: 'route.unmatched',
        bodyKind: BodyKind.NOTE,
        body: 'body not read by the handler',
        bodySize: 64,
      });
    });
  });

  it('counts an event the audit cannot take as dropped, with a reason, and the app is unaffected', async () => {
    const f = fakeAudit();
    vi.spyOn(f.audit, 'capture').mockImplementation(() => {
      throw new Error('ring gone');
    });
    const app = policiesApp(f);
    expect((await app.request('/policies/1')).status).toBe(200);
    expect(f.dropped).toEqual(['capture threw']);
    expect(f.errors).toEqual(['capture']);
  });
});

describe('honoAudit: the response never waits for a body (issue #12)', () => {
  it('answers a chunked POST whose client holds the body back, without reading it', async () => {
    const f = fakeAudit();
    const app = new Hono();
    app.use(honoAudit(f.audit));
    app.post('/policies', (c) => c.json({ error: 'unauthorized' }, 401));
    await withServer(app, async (port) => {
      const { socket, statusLine } = rawClient(port);
      try {
        // The headers of a chunked POST, and then nothing: a slow or hostile client.
        socket.write(
          'POST /policies HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n',
        );
        expect(await within(2000, statusLine, 'the response')).toBe('HTTP/1.1 401 Unauthorized');
        expect(await within(2000, f.event(1), 'the event')).toMatchObject({
          method: 'POST',
          path: '/policies',
          status: 401,
          bodyKind: BodyKind.NOTE,
          body: 'body not read by the handler',
          bodySize: -1,
        });
      } finally {
        socket.destroy();
      }
    });
  });

  it('still takes a body the handler read, under @hono/node-server', async () => {
    // The audit takes only settled reads: one the handler awaited has settled.
    const f = fakeAudit();
    const app = policiesApp(f);
    const text = JSON.stringify({ name: 'over-http' });
    await withServer(app, async (port) => {
      const res = await fetch(`http://127.0.0.1:${port}/policies`, jsonRequest('POST', text));
      expect(res.status).toBe(201);
      await res.arrayBuffer();
      expect(await within(2000, f.event(1), 'the event')).toMatchObject({
        route: '/policies',
        status: 201,
        bodyKind: BodyKind.TEXT,
        body: text,
        bodySize: text.length,
      });
    });
  });

  it('does not wait for a body read the handler started but did not finish', async () => {
    const f = fakeAudit();
    const app = new Hono();
    app.use(honoAudit(f.audit));
    app.post('/policies', (c) => {
      // Starts reading (Hono caches the pending promise) and answers before the body is in.
      c.req.text().catch(() => undefined);
      return c.json({ error: 'unauthorized' }, 401);
    });
    const endless = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"name":'));
      },
    });
    const res = await within(
      2000,
      app.request('/policies', {
        method: 'POST',
        body: endless,
        duplex: 'half',
        headers: { 'content-type': 'application/json', 'content-length': '4096' },
      } as RequestInit),
      'the response',
    );
    expect(res.status).toBe(401);
    expect(only(f)).toMatchObject({
      status: 401,
      bodyKind: BodyKind.NOTE,
      body: 'body read not finished when the handler answered',
      bodySize: 4096,
    });
  });
});

describe('honoAudit: switched off', () => {
  it('captures nothing for an excluded path, and the handler still runs', async () => {
    const f = fakeAudit({ excludedPaths: ['/health', '/internal/*'] });
    const app = policiesApp(f);
    app.get('/health', (c) => c.text('up'));
    app.get('/internal/metrics', (c) => c.text('m'));
    expect(await (await app.request('/health')).text()).toBe('up');
    expect(await (await app.request('/internal/metrics')).text()).toBe('m');
    expect(f.asked).toEqual(['/health', '/internal/metrics']);
    expect(f.events).toEqual([]);
    await app.request('/policies/1');
    expect(f.events.map((e) => e.path)).toEqual(['/policies/1']);
  });

  it('captures nothing and asks nothing when the audit is not active, and the handler still runs', async () => {
    const f = fakeAudit({ active: false });
    const app = policiesApp(f);
    const res = await app.request('/policies/1');
    expect(await res.json()).toEqual({ id: '1' });
    const post = await app.request('/policies', jsonRequest('POST', { name: 'x' }));
    expect(post.status).toBe(201);
    expect(f.events).toEqual([]);
    expect(f.asked).toEqual([]);
    expect(f.errors).toEqual([]);
  });
});

describe('honoMetrics', () => {
  it("serves the audit's registry with its content type", async () => {
    const f = fakeAudit();
    f.audit.registry.setDefaultLabels({ service: 'test' });
    new Gauge({ name: 'fake_gauge', help: 'a gauge', registers: [f.audit.registry] }).set(42);
    const app = new Hono();
    app.get('/metrics', honoMetrics(f.audit));
    const res = await app.request('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(f.audit.registry.contentType);
    expect(await res.text()).toContain('fake_gauge{service="test"} 42');
  });

  it('is not audited, wherever it is mounted, while the routes beside it are', async () => {
    const f = fakeAudit();
    const app = new Hono();
    app.use(honoAudit(f.audit));
    app.get('/ops/prometheus', honoMetrics(f.audit));
    app.get('/policies/:id', (c) => c.text('ok'));
    expect((await app.request('/ops/prometheus')).status).toBe(200);
    expect((await app.request('/policies/1')).status).toBe(200);
    expect(f.events.map((e) => e.path)).toEqual(['/policies/1']);
  });
});
