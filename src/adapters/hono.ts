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
import {
  buildEvent,
  fetchHeader,
  handOver,
  lastResort,
  nodeHeader,
  noHeader,
  type Reader,
  type RequestParts,
} from '../capture/build-event.js';
import {
  declareDurableRoute,
  durableRoutesDeclared,
  intentEvent,
  type RefusalReason,
  refusalBody,
  UNROUTED_INTENT_ACTION,
} from '../capture/durable.js';
import {
  type AuditOverride,
  addNote,
  errorName,
  lastNoteWithMessage,
  type Principal,
  parseLength,
} from '../capture/request-fields.js';
import { type RouteAction, RouteActionCache } from '../capture/route-action.js';
import { type CapturedEvent, Phase } from '../event.js';

/** Records a durable route's intent; resolves with the 503 to answer, or undefined to go on. */
type DurableGate = (c: Context, route: string | undefined) => Promise<Response | undefined>;

declare module 'hono' {
  interface ContextVariableMap {
    /** Overrides the route-derived action and target of this request's audit event. */
    auditOverride?: AuditOverride;
    /** Who made the request; set it in your auth middleware and the audit uses it. */
    auditPrincipal?: Principal;
    /** @internal The audit's durable gate, for auditAs({ durable: true }). */
    auditGate?: DurableGate;
    /** @internal The event id of this request's durable intent. */
    auditIntent?: string;
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

function headerPrincipal(c: Context): Principal {
  // Under @hono/node-server, Node's plain header object: touching `c.req.raw.headers` there would
  // build a fetch Headers object, a few microseconds.
  const incoming = (c.env as NodeEnv | undefined)?.incoming;
  const headers = incoming ? incoming.headers : c.req.raw.headers;
  const header = incoming ? nodeHeader : fetchHeader;
  return {
    actorId: header(headers, 'x-actor-id'),
    actorType: header(headers, 'x-actor-type'),
    organizationId: header(headers, 'x-organization-id'),
    accountId: header(headers, 'x-account-id'),
  };
}

function defaultResolve(c: Context): Principal {
  return c.get('auditPrincipal') ?? headerPrincipal(c);
}

function socketIp(c: Context): string | undefined {
  return (c.env as NodeEnv | undefined)?.incoming?.socket?.remoteAddress;
}

function honoParam(req: unknown, name: string): string | undefined {
  return (req as Context['req']).param(name);
}

/**
 * The route of the handler that answered, '' when none did. The handler that answered is at
 * routeIndex; if that is still the audit's own index, or another catch-all middleware's, no route
 * matched.
 */
function answeredRoute(c: Context, ownIndex: number): string {
  const index = c.req.routeIndex;
  if (index === ownIndex) return '';
  let routes: readonly { path: string }[];
  try {
    routes = matchedRoutes(c);
  } catch (err) {
    // The app runs on another copy of hono (pnpm, a monorepo, npm link, two versions installed):
    // its request keeps the match under that copy's own symbol, which this copy's matchedRoutes()
    // cannot read. The request's own matchedRoutes getter (deprecated in hono 4) still can.
    const own = (c.req as { matchedRoutes?: unknown }).matchedRoutes;
    if (!Array.isArray(own)) throw err;
    routes = own;
  }
  const path = routes[index]?.path ?? '';
  return path === '*' || path === '/*' ? '' : path;
}

type CacheKey = 'arrayBuffer' | 'text' | 'json' | 'parsedBody' | 'formData';
type Cache = Partial<Record<CacheKey, unknown>>;

/**
 * The body, without ever waiting for the client: from Hono's body cache when the handler read it
 * through c.req, else a note. Returns a promise only for a cache entry (it settles within a
 * microtask or two, see fromCache).
 */
function readBody(
  c: Context,
  max: number,
  contentType: string,
  length: number,
  chunked: boolean,
): BodyCapture | Promise<BodyCapture> | undefined {
  if (length === 0 || (length < 0 && !chunked)) return undefined;
  if (!isCapturable(contentType))
    return bodyNote(`${contentType || 'unknown type'} body not captured`, length);
  const cache = c.req.bodyCache as Cache;
  if (cache.arrayBuffer !== undefined) return fromCache(cache.arrayBuffer, 'arrayBuffer', max, length);
  if (cache.text !== undefined) return fromCache(cache.text, 'text', max, length);
  if (cache.json !== undefined) return fromCache(cache.json, 'json', max, length);
  if (cache.parsedBody !== undefined) return fromCache(cache.parsedBody, 'parsedBody', max, length);
  if (cache.formData !== undefined) return fromCache(cache.formData, 'formData', max, length);
  // The audit never reads a body itself: the response would wait for it, and a slow or endless
  // client could hold every response open. bodyUsed is cheap also under @hono/node-server, whose
  // request turns into a full fetch Request only when its body is touched.
  return bodyNote(
    c.req.raw.bodyUsed
      ? 'body read by the handler outside the Hono body cache'
      : 'body not read by the handler',
    length,
  );
}

/**
 * A body from Hono's cache, if its read has settled: a read the handler started and did not wait
 * for (the client still sending) is noted, not waited for; a read that failed (a client gone
 * mid-upload, malformed multipart, a body over a limit) is noted with the error's name.
 */
async function fromCache(pending: unknown, key: CacheKey, max: number, length: number): Promise<BodyCapture> {
  // One reaction on the entry, then one microtask turn: a settled entry's reaction was queued
  // before this function's continuation, so it has run by then; a pending one has not. (A
  // Promise.race against a resolved promise tells the same at the cost of an array and more
  // promises per request.)
  let state = 0; // 0 pending, 1 fulfilled, 2 rejected
  let value: unknown;
  Promise.resolve(pending).then(
    (v) => {
      state = 1;
      value = v;
    },
    (err: unknown) => {
      state = 2;
      value = err;
    },
  );
  await undefined;
  if (state === 2) return bodyNote(`body read failed (${errorName(value)})`, length);
  if (state === 0) return bodyNote('body read not finished when the handler answered', length);
  try {
    switch (key) {
      case 'arrayBuffer':
        return bodyFromBytes(new Uint8Array(value as ArrayBuffer), max, length);
      case 'text':
        return bodyFromText(value as string, max, length);
      case 'formData': {
        const fields: Record<string, string> = Object.create(null);
        for (const [k, v] of value as FormData)
          fields[k] = typeof v === 'string' ? v : `[file ${v.size} bytes]`;
        return bodyFromValue(fields, max, length);
      }
      default:
        return bodyFromValue(value, max, length);
    }
  } catch (err) {
    // A cached value of an unexpected shape (another middleware wrote the cache).
    return bodyNote(`body unreadable (${errorName(err)})`, length);
  }
}

/** Requests that honoMetrics answered: honoAudit records no event for them. */
const scrapes = new WeakSet<Request>();

/**
 * Audit middleware for Hono. Register it first (`app.use(honoAudit(audit))`) so it sees every
 * request; excluded paths and a disabled audit cost one check and a call to next().
 *
 * Every part of the event (route, principal, override, headers, client address, body) is read on
 * its own: one that fails leaves a safe default and a note in the event's `error` (or a body
 * note), and the request is still recorded. The response never waits for the request body.
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

  const failClosed = audit.failClosed;
  const isDurable = audit.isDurable;
  const gate: DurableGate = (c, route) => recordIntent(audit, c, route, resolve, clientIp, routes);

  return async function auditRequest(c, next) {
    const path = c.req.path;
    if (audit.isExcluded(path)) return next();
    if (failClosed) {
      const reason = audit.admission();
      if (reason !== undefined) return refusal(c, audit, reason);
    }
    const ts = Date.now();
    const t0 = performance.now();
    const ownIndex = c.req.routeIndex;
    // A durable path's intent, before any other middleware or handler: refused, the request is
    // answered 503 here, and its event (naming the intent, if one was queued) recorded below.
    const gated = isDurable?.(path) === true;
    const refused = gated ? await gate(c, undefined) : undefined;
    if (refused) c.res = refused;
    else {
      // One intent per request: a durable path's is recorded, so a durable route under it adds none.
      if (!gated && durableRoutesDeclared()) c.set('auditGate', gate);
      await next();
    }
    // A scrape of the metrics the audit serves (honoMetrics) is not an event, wherever it is mounted.
    if (scrapes.has(c.req.raw)) return;
    const doneAt = performance.now();
    // The reads live in a plain function, so this async function's frame (kept on the heap across
    // its awaits) holds a handful of values, not every local of the capture.
    const parts = readParts(c, ownIndex, resolve, clientIp, routes, maxBody, ts, path, doneAt - t0);
    if (typeof parts !== 'string' && (isDurable || durableRoutesDeclared()))
      parts.intentId = c.get('auditIntent') ?? '';
    // The hot-path clock: the capture's own work, without the (microtask) wait for a cached body.
    let startedAt = doneAt;
    if (typeof parts !== 'string' && parts.body instanceof Promise) {
      const before = performance.now();
      try {
        parts.body = await parts.body;
      } catch (err) {
        // fromCache() answers every failure with a note; this only keeps a surprise out of the app.
        parts.body = bodyNote(`body unreadable (${errorName(err)})`, -1);
      }
      startedAt += performance.now() - before;
    }
    finish(audit, parts, ts, c, path, doneAt - t0, startedAt);
  };
}

/** The 503 of a request refused before its handler ran, counted with its reason. */
function refusal(c: Context, audit: Audit, reason: RefusalReason): Response {
  const retryAfter = audit.refuse(reason);
  return c.json(refusalBody(reason), 503, { 'Retry-After': String(retryAfter) });
}

/**
 * Records the intent of a durable route and waits (without blocking) until it is durable. `route`
 * is the route's pattern from auditAs, undefined for AUDIT_DURABLE_PATHS (before routing: the
 * intent's action is then `request.received` unless the override names one). Sets `auditIntent`
 * once the intent is queued; resolves with the 503 to answer when it is not durable.
 */
async function recordIntent(
  audit: Audit,
  c: Context,
  route: string | undefined,
  resolve: (c: Context) => Principal | undefined,
  clientIp: (c: Context) => string | undefined,
  routes: RouteActionCache,
): Promise<Response | undefined> {
  let event: CapturedEvent;
  try {
    const raw = c.req.raw;
    const method = raw.method;
    const incoming = (c.env as NodeEnv | undefined)?.incoming;
    const path = c.req.path;
    let notes = '';
    let who: Principal | undefined;
    try {
      who = resolve(c);
    } catch (err) {
      notes = addNote(notes, 'principal', err);
    }
    let ip: string | undefined;
    try {
      ip = clientIp(c);
    } catch (err) {
      notes = addNote(notes, 'client ip', err);
    }
    event = intentEvent({
      ts: Date.now(),
      method,
      path,
      url: raw.url,
      route: route ?? '',
      derived: route
        ? routes.get(method, route)
        : { action: UNROUTED_INTENT_ACTION, param: '', prefix: path },
      params: c.req,
      param: honoParam,
      override: c.get('auditOverride'),
      who,
      status: 0,
      durationMs: 0,
      headers: incoming ? incoming.headers : raw.headers,
      header: incoming ? nodeHeader : fetchHeader,
      clientIp: ip,
      contentType: '',
      body: undefined,
      error: '',
      notes,
    });
    if (notes !== '') audit.countError('capture', lastNoteWithMessage());
  } catch (err) {
    // No intent, no handler: the route asked for one.
    audit.countError('capture', `intent could not be built: ${errorName(err)}`);
    return refusal(c, audit, 'intent_lost');
  }
  const { id, outcome } = audit.intent(event);
  if (id !== undefined) c.set('auditIntent', id);
  const { refused } = await outcome;
  return refused === undefined ? undefined : refusal(c, audit, refused);
}

/** RequestParts whose body may still be a cached read (it settles within a microtask or two). */
type HonoParts = Omit<RequestParts, 'body'> & { body: RequestParts['body'] | Promise<BodyCapture> };

/**
 * Everything of the event that is read without waiting; when the request could not be read at
 * all, the note saying why (the caller then records the minimal event). Every part is read on its
 * own: one that fails leaves a safe default and a note.
 */
function readParts(
  c: Context,
  ownIndex: number,
  resolve: (c: Context) => Principal | undefined,
  clientIp: (c: Context) => string | undefined,
  routes: RouteActionCache,
  maxBody: number,
  ts: number,
  path: string,
  durationMs: number,
): HonoParts | string {
  let notes = '';
  try {
    const req = c.req;
    const raw = req.raw;
    const method = raw.method;
    const status = c.res.status;
    let route = '';
    let derived: RouteAction | undefined;
    try {
      route = answeredRoute(c, ownIndex);
      if (route) derived = routes.get(method, route);
    } catch (err) {
      route = '';
      notes = addNote(notes, 'route', err);
    }
    let override: AuditOverride | undefined;
    try {
      override = c.get('auditOverride');
    } catch (err) {
      notes = addNote(notes, 'override', err);
    }
    let who: Principal | undefined;
    try {
      who = resolve(c);
    } catch (err) {
      notes = addNote(notes, 'principal', err);
    }
    let ip: string | undefined;
    try {
      ip = clientIp(c);
    } catch (err) {
      notes = addNote(notes, 'client ip', err);
    }
    let headers: unknown;
    let header: Reader = noHeader;
    let contentType = '';
    let length = -1;
    let chunked = false;
    try {
      const incoming = (c.env as NodeEnv | undefined)?.incoming;
      headers = incoming ? incoming.headers : raw.headers;
      header = incoming ? nodeHeader : fetchHeader;
      contentType = header(headers, 'content-type') ?? '';
      length = parseLength(header(headers, 'content-length'));
      chunked = header(headers, 'transfer-encoding') !== undefined;
    } catch (err) {
      header = noHeader;
      notes = addNote(notes, 'headers', err);
    }
    let body: HonoParts['body'];
    if (method !== 'GET' && method !== 'HEAD') {
      try {
        body = readBody(c, maxBody, contentType, length, chunked);
      } catch (err) {
        body = bodyNote(`body unreadable (${errorName(err)})`, length);
      }
    }
    return {
      ts,
      method,
      path,
      url: raw.url,
      route,
      derived,
      params: req,
      param: honoParam,
      override,
      who,
      status,
      durationMs,
      headers,
      header,
      clientIp: ip,
      contentType,
      body,
      error: c.error ? errorName(c.error) : '',
      notes,
    };
  } catch (err) {
    return addNote(notes, 'request', err);
  }
}

/** Builds the event (or the minimal one) and hands it over; never throws into the app. */
function finish(
  audit: Audit,
  parts: HonoParts | string,
  ts: number,
  c: Context,
  path: string,
  durationMs: number,
  startedAt: number,
): void {
  let event: CapturedEvent | undefined;
  let notes: string;
  if (typeof parts === 'string') {
    notes = parts;
    event = lastResort(ts, methodOf(c), path, statusOf(c), durationMs, notes);
  } else {
    try {
      // The body has settled: the caller awaited it.
      event = buildEvent(parts as RequestParts);
      if (parts.intentId) {
        event.phase = Phase.COMPLETED;
        event.intentId = parts.intentId;
      }
      notes = parts.notes;
    } catch (err) {
      notes = addNote(parts.notes, 'request', err);
      event = lastResort(ts, parts.method, path, parts.status, durationMs, notes);
    }
  }
  // Audit code never throws into the app; what failed is counted (audit_errors_total).
  if (notes !== '') audit.countError('capture', lastNoteWithMessage());
  handOver(audit, event, startedAt);
}

function methodOf(c: Context): string {
  try {
    return c.req.raw.method;
  } catch {
    return '';
  }
}

function statusOf(c: Context): number {
  try {
    return c.res.status;
  } catch {
    return 0;
  }
}

/**
 * Declares a route's audit action (and optionally a fixed target) where the derived one is wrong.
 *
 * @example
 * app.post('/policies/:id/evaluate', auditAs({ action: 'policies.evaluate' }), handler);
 */
export function auditAs(override: AuditOverride): MiddlewareHandler {
  if (override.durable !== true) {
    return async function auditOverride(c, next) {
      c.set('auditOverride', override);
      await next();
    };
  }
  declareDurableRoute();
  return async function auditDurable(c, next) {
    c.set('auditOverride', override);
    // No gate: the audit is disabled or skips this path (AUDIT_ENABLED=false, an excluded path).
    const gate = c.get('auditGate');
    const refused = gate && (await gate(c, c.req.routePath));
    if (refused) return refused;
    await next();
  };
}

/**
 * A ready `/metrics` handler serving the audit's prom-client registry. Its scrapes are not audited
 * (no event, not counted), wherever it is mounted.
 *
 * @example
 * app.get('/metrics', honoMetrics(audit));
 */
export function honoMetrics(audit: Audit) {
  return async function metrics(c: Context) {
    scrapes.add(c.req.raw);
    return c.body(await audit.registry.metrics(), 200, { 'content-type': audit.registry.contentType });
  };
}
