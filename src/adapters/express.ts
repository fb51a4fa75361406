// Express middleware: one audit event per request, captured when the response finishes (or the
// connection closes first), from what the app left on req and res. It never reads the request
// stream, so body parsers and handlers see it untouched; the body comes from `req.body` when the
// app parsed it.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Audit } from '../audit.js';
import {
  type BodyCapture,
  bodyFromBytes,
  bodyFromText,
  bodyFromValue,
  bodyNote,
  isCapturable,
} from '../capture/body.js';
import { buildEvent } from '../capture/build-event.js';
import type { AuditOverride, Principal } from '../capture/request-fields.js';
import { RouteActionCache } from '../capture/route-action.js';

/**
 * Options of expressAudit(): where the principal and the client address come from.
 *
 * @example
 * app.use(expressAudit(audit, { resolve: (req) => ({ actorId: req.user?.id, organizationId: req.user?.orgId }) }));
 */
export interface ExpressAuditOptions {
  /**
   * Who made the request and for which tenant. Default: `res.locals.auditPrincipal`, else the
   * headers x-actor-id, x-actor-type, x-organization-id and x-account-id (for services behind a
   * gateway that sets them). In production, read your auth context here.
   */
  resolve?: (req: Request, res: Response) => Principal | undefined;
  /** The client address. Default: `req.ip` (which honours Express's `trust proxy`). */
  clientIp?: (req: Request) => string | undefined;
}

function header(req: Request, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function defaultResolve(req: Request, res: Response): Principal {
  return (
    (res.locals.auditPrincipal as Principal | undefined) ?? {
      actorId: header(req, 'x-actor-id'),
      actorType: header(req, 'x-actor-type'),
      organizationId: header(req, 'x-organization-id'),
      accountId: header(req, 'x-account-id'),
    }
  );
}

function captureBody(req: Request, max: number, contentType: string): BodyCapture | undefined {
  const length = Number(req.headers['content-length'] ?? -1);
  const body: unknown = req.body;
  if (body === undefined) {
    if (length > 0 || req.headers['transfer-encoding']) return bodyNote('body not parsed by the app', length);
    return undefined;
  }
  if (!isCapturable(contentType))
    return bodyNote(`${contentType || 'unknown type'} body not captured`, length);
  if (Buffer.isBuffer(body)) return bodyFromBytes(body, max, length);
  if (typeof body === 'string') return bodyFromText(body, max, length);
  if (typeof body === 'object' && body !== null && Object.keys(body).length === 0 && !(length > 0))
    return undefined;
  return bodyFromValue(body, max, length);
}

/**
 * Audit middleware for Express. Register it before your routes (`app.use(expressAudit(audit))`).
 *
 * @example
 * const audit = await createAudit();
 * app.use(express.json());
 * app.use(expressAudit(audit, { resolve: (req) => ({ actorId: req.user.id, organizationId: req.user.org }) }));
 */
export function expressAudit(audit: Audit, options: ExpressAuditOptions = {}): RequestHandler {
  const { resolve = defaultResolve, clientIp = (req: Request) => req.ip } = options;
  const routes = new RouteActionCache();
  const maxBody = audit.config.maxBodySize;

  if (!audit.active) {
    return function auditDisabled(_req: Request, _res: Response, next: NextFunction) {
      next();
    };
  }

  return function auditRequest(req: Request, res: Response, next: NextFunction) {
    const path = req.path;
    if (audit.isExcluded(path)) {
      next();
      return;
    }
    const ts = Date.now();
    const t0 = performance.now();
    const url = req.originalUrl;
    let done = false;
    const onDone = () => {
      if (done) return;
      done = true;
      res.off('finish', onDone);
      res.off('close', onDone);
      const startedAt = performance.now();
      try {
        const method = req.method;
        const route = req.route?.path !== undefined ? `${req.baseUrl}${String(req.route.path)}` : '';
        const derived = route ? routes.get(method, route) : undefined;
        const override = res.locals.auditOverride as AuditOverride | undefined;
        const who = resolve(req, res) ?? {};
        const contentType = header(req, 'content-type') ?? '';
        const body =
          method === 'GET' || method === 'HEAD' ? undefined : captureBody(req, maxBody, contentType);
        const aborted = !res.writableFinished;
        const event = buildEvent({
          ts,
          method,
          path: req.baseUrl + path,
          url,
          route,
          derived,
          param: (name) => (req.params?.[name] === undefined ? undefined : String(req.params[name])),
          override,
          who,
          // A connection that closed before the response finished is recorded as 499 (client gone).
          status: aborted ? 499 : res.statusCode,
          durationMs: startedAt - t0,
          header: (name) => header(req, name),
          clientIp: clientIp(req) ?? req.socket?.remoteAddress,
          contentType,
          body,
          error: aborted ? 'ClientClosedRequest' : '',
        });
        audit.capture(event, startedAt);
      } catch {
        audit.countError('capture');
      }
    };
    res.on('finish', onDone);
    res.on('close', onDone);
    next();
  };
}

/**
 * Declares a route's audit action (and optionally a fixed target) where the derived one is wrong.
 *
 * @example
 * app.post('/policies/:id/evaluate', auditAs({ action: 'policies.evaluate' }), handler);
 */
export function auditAs(override: AuditOverride): RequestHandler {
  return function auditOverride(_req: Request, res: Response, next: NextFunction) {
    res.locals.auditOverride = override;
    next();
  };
}

/**
 * A ready `/metrics` handler serving the audit's prom-client registry.
 *
 * @example
 * app.get('/metrics', expressMetrics(audit));
 */
export function expressMetrics(audit: Audit): RequestHandler {
  return function metrics(_req: Request, res: Response, next: NextFunction) {
    audit.registry.metrics().then((text) => {
      res.type(audit.registry.contentType).send(text);
    }, next);
  };
}
