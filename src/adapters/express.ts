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
import { type AuditOverride, CAP, cap, type Principal, traceIdFrom } from '../capture/request-fields.js';
import { RouteActionCache } from '../capture/route-action.js';
import { BodyKind, type CapturedEvent } from '../event.js';

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
        const override = res.locals.audit as AuditOverride | undefined;
        const who = resolve(req, res) ?? {};
        const q = url.indexOf('?');
        const contentType = header(req, 'content-type') ?? '';
        const body =
          method === 'GET' || method === 'HEAD' ? undefined : captureBody(req, maxBody, contentType);
        let target = override?.target;
        if (target === undefined && derived) {
          target = derived.param
            ? derived.prefix + String(req.params?.[derived.param] ?? '')
            : derived.prefix;
        }
        const aborted = !res.writableFinished;
        const event: CapturedEvent = {
          ts,
          seq: 0,
          method,
          path: cap(req.baseUrl + path, CAP.path),
          query: q < 0 ? '' : cap(url.slice(q + 1), CAP.query),
          route,
          // A connection that closed before the response finished is recorded as 499 (client gone).
          status: aborted ? 499 : res.statusCode,
          durationMs: startedAt - t0,
          actorId: cap(who.actorId, CAP.id),
          actorType: cap(who.actorType, CAP.id),
          organizationId: cap(who.organizationId, CAP.id),
          accountId: cap(who.accountId, CAP.id),
          action: cap(override?.action ?? derived?.action ?? 'route.unmatched', CAP.id),
          target: cap(target ?? (derived ? '' : path), CAP.path),
          traceId: traceIdFrom(header(req, 'traceparent')) || cap(header(req, 'x-request-id'), CAP.id),
          requestId: cap(header(req, 'x-request-id'), CAP.id),
          clientIp: cap(clientIp(req) ?? req.socket?.remoteAddress, CAP.id),
          userAgent: cap(header(req, 'user-agent'), CAP.header),
          contentType: cap(contentType, CAP.id),
          bodyKind: body?.kind ?? BodyKind.NONE,
          body: body?.body ?? null,
          bodySize: body?.size ?? -1,
          bodyTruncated: body?.truncated ?? false,
          error: aborted ? 'ClientClosedRequest' : '',
        };
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
    res.locals.audit = override;
    next();
  };
}

/** A ready `/metrics` handler serving the audit's prom-client registry. */
export function expressMetrics(audit: Audit): RequestHandler {
  return function metrics(_req: Request, res: Response, next: NextFunction) {
    audit.registry.metrics().then((text) => {
      res.type(audit.registry.contentType).send(text);
    }, next);
  };
}
