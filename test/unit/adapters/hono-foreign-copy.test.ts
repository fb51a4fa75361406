// An app whose hono is another copy than the one the library imports (pnpm, a monorepo, npm link,
// two versions installed): issue #12, where every request of such an app went unaudited.
//
// The simulation is a real second copy, not a mock: the installed hono package is copied (its ESM
// files) to a temporary node_modules and the app is built from that copy. Node loads it as separate
// modules, so the copy's HonoRequest keeps its match result under its own GET_MATCH_RESULT symbol,
// which the library's `hono/route` matchedRoutes() does not know: it throws a TypeError, exactly as
// with two installed copies.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Hono as HonoType } from 'hono';
import type { HonoRequest } from 'hono/request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { honoAudit } from '../../../src/adapters/hono.js';
import { BodyKind } from '../../../src/event.js';
import { fakeAudit } from '../../support/fake-audit.js';

let root: string;
let ForeignHono: typeof HonoType;
let ForeignRequest: typeof HonoRequest;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'pdaas-foreign-hono-'));
  const copy = join(root, 'node_modules', 'hono');
  const skip = [`${sep}dist${sep}cjs`, `${sep}dist${sep}types`];
  cpSync(join(process.cwd(), 'node_modules', 'hono'), copy, {
    recursive: true,
    filter: (path) => !skip.some((s) => path.includes(s)),
  });
  ({ Hono: ForeignHono } = await import(pathToFileURL(join(copy, 'dist', 'index.js')).href));
  ({ HonoRequest: ForeignRequest } = await import(pathToFileURL(join(copy, 'dist', 'request.js')).href));
});

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

function foreignApp(f: ReturnType<typeof fakeAudit>): HonoType {
  const app = new ForeignHono();
  app.use(honoAudit(f.audit));
  app.get('/policies/:id', (c) => c.json({ id: c.req.param('id') }));
  app.post('/policies', async (c) => c.json(await c.req.json(), 201));
  return app;
}

describe('honoAudit under another copy of hono', () => {
  it('is really another copy: the library cannot read its context', async () => {
    const { matchedRoutes } = await import('hono/route');
    const { Hono } = await import('hono');
    expect(ForeignHono).not.toBe(Hono);
    const app = new ForeignHono();
    let thrown: unknown;
    app.get('/x', (c) => {
      try {
        matchedRoutes(c as never);
      } catch (err) {
        thrown = err;
      }
      return c.text('ok');
    });
    await app.request('/x');
    expect(thrown).toBeInstanceOf(TypeError);
  });

  it('audits every request, with the route the copy matched', async () => {
    const f = fakeAudit();
    const app = foreignApp(f);
    const res = await app.request('/policies/1', { headers: { 'x-actor-id': 'alice' } });
    expect(res.status).toBe(200);
    const body = JSON.stringify({ name: 'p' });
    const post = await app.request('/policies', {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
    });
    expect(post.status).toBe(201);
    expect(f.events).toHaveLength(2);
    expect(f.events[0]).toMatchObject({
      method: 'GET',
      path: '/policies/1',
      route: '/policies/:id',
      status: 200,
      action: 'policies.read',
      target: 'policy:1',
      actorId: 'alice',
      error: '',
    });
    expect(f.events[1]).toMatchObject({
      method: 'POST',
      route: '/policies',
      status: 201,
      action: 'policies.create',
      bodyKind: BodyKind.TEXT,
      body,
    });
    expect(f.errors).toEqual([]);
    expect(f.dropped).toEqual([]);
  });

  it('still records the request, as unmatched with a note, when the route cannot be read at all', async () => {
    // A copy without the request's own (deprecated) route getters, as a later hono may be: the
    // adapter has no way left to the route.
    const getter = Object.getOwnPropertyDescriptor(ForeignRequest.prototype, 'matchedRoutes');
    Object.defineProperty(ForeignRequest.prototype, 'matchedRoutes', {
      configurable: true,
      get: () => undefined,
    });
    try {
      const f = fakeAudit();
      const res = await foreignApp(f).request('/policies/1');
      expect(res.status).toBe(200);
      expect(f.events).toHaveLength(1);
      expect(f.events[0]).toMatchObject({
        method: 'GET',
        path: '/policies/1',
        route: '',
        status: 200,
        action: 'route.unmatched',
        target: '/policies/1',
        error: 'audit: route unreadable (TypeError)',
      });
      expect(f.events[0]?.durationMs).toBeGreaterThanOrEqual(0);
      expect(f.errors).toEqual(['capture']);
    } finally {
      if (getter) Object.defineProperty(ForeignRequest.prototype, 'matchedRoutes', getter);
    }
  });
});
