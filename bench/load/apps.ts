// The app variants the load harness serves, for Hono and for Express, each the platform-shaped
// example app (examples/<framework>/app.ts) with one thing added in front of its routes:
//   bare         nothing: the framework's own cost
//   passthrough  a middleware that only calls next(): what any middleware costs, the baseline the
//                library's own cost is measured against (audited − passthrough)
//   audited      @pdaas/audit's middleware, spooling locally unless AUDIT_OPENSEARCH_HOST is set
//   peer         pino writing one record per request through its worker transport to /dev/null
//                (Hono: a middleware logging what the audit captures; Express: pino-http)
// Each middleware sits where the audited app has the audit's, so the pairs differ only in it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Audit } from '@pdaas/audit';
import type { Express, NextFunction, Request, Response } from 'express';
import { Hono } from 'hono';
import pino from 'pino';
import { pinoHttp } from 'pino-http';
import { createApp as createExpressApp } from '../../examples/express/app.js';
import { createApp as createHonoApp } from '../../examples/hono/app.js';

export const frameworks = ['hono', 'express'] as const;
export type Framework = (typeof frameworks)[number];
export const variants = ['bare', 'passthrough', 'audited', 'peer'] as const;
export type Variant = (typeof variants)[number];

export interface Served {
  server: Server;
  port: number;
}

const devNull = () => pino(pino.transport({ target: 'pino/file', options: { destination: '/dev/null' } }));

function honoApp(variant: Variant, audit: Audit | undefined): Hono {
  if (variant === 'bare') return createHonoApp();
  if (variant === 'audited') return createHonoApp(audit);
  // app.route() copies the example's routes into this app: the same router, the same handlers,
  // behind one middleware registered first, as honoAudit is in the audited app.
  const app = new Hono();
  if (variant === 'passthrough') {
    app.use(async function passThrough(_c, next) {
      await next();
    });
  } else {
    const logger = devNull();
    app.use(async function pinoPeer(c, next) {
      const t0 = performance.now();
      await next();
      const h = c.req.raw.headers;
      logger.info({
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        durationMs: performance.now() - t0,
        organizationId: h.get('x-organization-id'),
        actorId: h.get('x-actor-id'),
        requestId: h.get('x-request-id'),
        userAgent: h.get('user-agent'),
        // The same body the audit captures (cached by Hono after the handler parsed it).
        ...(c.req.method === 'POST' && { body: await c.req.json() }),
      });
    });
  }
  app.route('/', createHonoApp());
  return app;
}

/**
 * Puts `fn` into the example app's stack where expressAudit sits in the audited app: right after
 * the body parsers, before the routes (the example registers express.json and urlencoded first).
 */
function afterParsers(app: Express, fn: (req: Request, res: Response, next: NextFunction) => void): Express {
  app.use(fn);
  const stack = (app as unknown as { router: { stack: unknown[] } }).router.stack;
  const layer = stack.pop();
  stack.splice(2, 0, layer);
  return app;
}

function expressApp(variant: Variant, audit: Audit | undefined): Express {
  if (variant === 'bare') return createExpressApp();
  if (variant === 'audited') return createExpressApp(audit);
  if (variant === 'passthrough') {
    return afterParsers(createExpressApp(), function passThrough(_req, _res, next) {
      next();
    });
  }
  // pino-http with its default request and response serializers, plus the parsed body the audit
  // captures, written by the same worker transport to /dev/null.
  const log = pinoHttp({
    logger: devNull(),
    customProps: (req) => {
      const body = (req as Request).body;
      return body !== undefined && (req as Request).method !== 'GET' ? { body } : {};
    },
  });
  return afterParsers(
    createExpressApp(),
    log as unknown as (req: Request, res: Response, next: NextFunction) => void,
  );
}

/** Serves one variant on 127.0.0.1 at a free port. */
export async function serveVariant(
  framework: Framework,
  variant: Variant,
  audit: Audit | undefined,
): Promise<Served> {
  let server: Server;
  if (framework === 'hono') {
    const app = honoApp(variant, audit);
    server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }) as Server;
  } else {
    server = createServer(expressApp(variant, audit)).listen(0, '127.0.0.1');
  }
  if (!server.listening) await new Promise((r) => server.once('listening', r));
  return { server, port: (server.address() as AddressInfo).port };
}
