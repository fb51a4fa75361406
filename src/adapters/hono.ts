// Hono middleware: one audit event per request, captured after the handler ran (so the route,
// status and principal are known) and handed to the ring without waiting for anything else.
import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
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

declare module 'hono' {
  interface ContextVariableMap {
    /** Overrides the route-derived action and target of this request's audit event. */
    auditOverride?: AuditOverride;
    /** Who made the request; set it in your auth middleware and the audit uses it. */
    auditPrincipal?: Principal;
  }
}

/**
 * Options of honoAudit(): where the principal and the client address come from.
 *
 * @example
 * app.use(honoAudit(audit, { resolve: (c) => ({ actorId: c.get('user')?.id, organizationId: c.get('org') }) }));
 */
export interface HonoAuditOptions {
  /**
   * Who made the request and for which tenant. Default: `c.get('auditPrincipal')`, else the
   * headers x-actor-id, x-actor-type, x-organization-id and x-account-id (for services behind a
   * gateway that sets them). In production, read your auth context here.
   */
  resolve?: (c: Context) => Principal | undefined;
  /** The client address. Default: the socket address under @hono/node-server. */
  clientIp?: (c: Context) => string | undefined;
}

type NodeEnv = {
  incoming?: { headers: Record<string, string | string[] | undefined>; socket?: { remoteAddress?: string } };
};

/**
 * A header reader for this request. Under @hono/node-server it reads Node's plain header object:
 * touching `c.req.raw.headers` there would build a fetch Headers object, a few microseconds.
 */
function headerReader(c: Context): (name: string) => string | undefined {
  const incoming = (c.env as NodeEnv | undefined)?.incoming;
  if (incoming) {
    const h = incoming.headers;
    return (name) => {
      const v = h[name];
      return Array.isArray(v) ? v[0] : v;
    };
  }
  const h = c.req.raw.headers;
  return (name) => h.get(name) ?? undefined;
}

function headerPrincipal(c: Context): Principal {
  const h = headerReader(c);
  return {
    actorId: h('x-actor-id'),
    actorType: h('x-actor-type'),
    organizationId: h('x-organization-id'),
    accountId: h('x-account-id'),
  };
}

function defaultResolve(c: Context): Principal {
  return c.get('auditPrincipal') ?? headerPrincipal(c);
}

function socketIp(c: Context): string | undefined {
  return (c.env as NodeEnv | undefined)?.incoming?.socket?.remoteAddress;
}

type Cache = Partial<Record<'arrayBuffer' | 'text' | 'json' | 'formData' | 'parsedBody', Promise<unknown>>>;

/** Reads the body after the handler: from Hono's body cache when the handler parsed it, else up to `max` bytes. */
async function captureBody(
  c: Context,
  max: number,
  contentType: string,
  length: number,
  chunked: boolean,
): Promise<BodyCapture | undefined> {
  if (length === 0 || (length < 0 && !chunked)) return undefined;
  if (!isCapturable(contentType))
    return bodyNote(`${contentType || 'unknown type'} body not captured`, length);
  const cache = c.req.bodyCache as Cache;
  if (cache.arrayBuffer)
    return bodyFromBytes(new Uint8Array((await cache.arrayBuffer) as ArrayBuffer), max, length);
  if (cache.text) return bodyFromText((await cache.text) as string, max, length);
  if (cache.json) return bodyFromValue(await cache.json, max, length);
  if (cache.parsedBody) return bodyFromValue(await cache.parsedBody, max, length);
  if (cache.formData) {
    const form = (await cache.formData) as FormData;
    const fields: Record<string, string> = Object.create(null);
    for (const [k, v] of form) fields[k] = typeof v === 'string' ? v : `[file ${v.size} bytes]`;
    return bodyFromValue(fields, max, length);
  }
  // Only now touch the Request's body: under @hono/node-server that turns its lightweight request
  // into a full fetch Request (tens of microseconds), which the cached cases above never need.
  const raw = c.req.raw;
  if (raw.bodyUsed || !raw.body)
    return bodyNote('body read by the handler outside the Hono body cache', length);
  // Nobody read it: read at most `max` bytes ourselves and let the rest go.
  const reader = raw.body.getReader();
  const chunks: Uint8Array[] = [];
  let got = 0;
  let more = false;
  while (got <= max) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    got += value.length;
  }
  if (got > max) more = true;
  await reader.cancel().catch(() => undefined);
  const bytes = Buffer.concat(chunks, got);
  return bodyFromBytes(bytes, max, more ? Math.max(length, got) : got);
}

/**
 * Audit middleware for Hono. Register it first (`app.use(honoAudit(audit))`) so it sees every
 * request; excluded paths and a disabled audit cost one check and a call to next().
 *
 * @example
 * const audit = await createAudit();
 * app.use(honoAudit(audit, { resolve: (c) => ({ actorId: c.get('user')?.id, organizationId: c.get('org') }) }));
 */
export function honoAudit(audit: Audit, options: HonoAuditOptions = {}): MiddlewareHandler {
  const { resolve = defaultResolve, clientIp = socketIp } = options;
  const routes = new RouteActionCache();
  const maxBody = audit.config.maxBodySize;

  if (!audit.active) {
    return async function auditDisabled(_c, next) {
      await next();
    };
  }

  return async function auditRequest(c, next) {
    const path = c.req.path;
    if (audit.isExcluded(path)) return next();
    const ts = Date.now();
    const t0 = performance.now();
    const ownIndex = c.req.routeIndex;
    await next();
    const doneAt = performance.now();
    try {
      const raw = c.req.raw;
      const method = raw.method;
      // The handler that answered is at routeIndex; if that is still us, or another catch-all
      // middleware, no route matched.
      const answered = c.req.routeIndex === ownIndex ? '' : (matchedRoutes(c)[c.req.routeIndex]?.path ?? '');
      const route = answered === '*' || answered === '/*' ? '' : answered;
      const derived = route ? routes.get(method, route) : undefined;
      const override = c.get('auditOverride');
      const who = resolve(c) ?? {};
      const header = headerReader(c);
      const contentType = header('content-type') ?? '';
      const body =
        method === 'GET' || method === 'HEAD'
          ? undefined
          : await captureBody(
              c,
              maxBody,
              contentType,
              Number(header('content-length') ?? -1),
              header('transfer-encoding') !== undefined,
            );
      // The hot-path clock starts after the only await (a body read), so the metric is the cost
      // of capturing, not the time other requests ran while we waited.
      const startedAt = performance.now();
      const event = buildEvent({
        ts,
        method,
        path,
        url: raw.url,
        route,
        derived,
        param: (name) => c.req.param(name),
        override,
        who,
        status: c.res.status,
        durationMs: doneAt - t0,
        header,
        clientIp: clientIp(c),
        contentType,
        body,
        error: c.error?.name ?? '',
      });
      audit.capture(event, startedAt);
    } catch {
      // Audit code never throws into the app; the failure is counted (audit_errors_total).
      audit.countError('capture');
    }
  };
}

/**
 * Declares a route's audit action (and optionally a fixed target) where the derived one is wrong.
 *
 * @example
 * app.post('/policies/:id/evaluate', auditAs({ action: 'policies.evaluate' }), handler);
 */
export function auditAs(override: AuditOverride): MiddlewareHandler {
  return async function auditOverride(c, next) {
    c.set('auditOverride', override);
    await next();
  };
}

/**
 * A ready `/metrics` handler serving the audit's prom-client registry.
 *
 * @example
 * app.get('/metrics', honoMetrics(audit));
 */
export function honoMetrics(audit: Audit) {
  return async function metrics(c: Context) {
    return c.body(await audit.registry.metrics(), 200, { 'content-type': audit.registry.contentType });
  };
}
