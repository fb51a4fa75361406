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
import { buildEvent, handOver, lastResort, nodeHeader, type RequestParts } from '../capture/build-event.js';
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

/**
 * Records a durable route's intent (`route`: the route's pattern from auditAs, undefined before
 * routing); once it is durable calls `next`, else answers 503.
 */
type DurableGate = (req: Request, res: Response, route: string | undefined, next: () => void) => void;

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
  return nodeHeader(req.headers, name);
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

function defaultClientIp(req: Request): string | undefined {
  return req.ip;
}

function expressParam(params: unknown, name: string): string | undefined {
  const v = (params as Record<string, unknown> | undefined)?.[name];
  return v === undefined ? undefined : String(v);
}

/** The path of a request target: '/a/b' of '/a/b?x=1', and of 'http://host/a/b' (absolute form). */
function pathOf(url: string): string {
  let start = 0;
  if (url.charCodeAt(0) !== 47) {
    const scheme = url.indexOf('://');
    if (scheme > 0) {
      start = url.indexOf('/', scheme + 3);
      if (start < 0) return '/';
    }
  }
  const q = url.indexOf('?', start);
  if (q >= 0) return url.slice(start, q);
  return start === 0 ? url : url.slice(start);
}

// Express (4 and 5) restores req.baseUrl and req.params when a request leaves a router, and gives
// req.params to each layer it enters: by the time the response finishes, after an error went to an
// error handler or Express answered itself (a 404, an uncaught error), both can be another layer's
// or undefined. The adapter remembers them as they were when the route matched. It observes the
// one assignment Express makes at that moment in every version: `req.route = route`, by the router
// and again by Route#dispatch just before the route's handlers run, when req.baseUrl and req.params
// are the route's. An accessor on the request keeps the route and takes those two references, in a
// state object of the request's own (RouteSeen); nothing else is added to the request. Express's
// requests share no V8 map (each has its prototype set per app), so every property added to one
// copies its map: the accessor is one such copy, where a symbol per value was four (measured
// in the server: 25 µs and 3.9 KB per request, bench/results/profile-express.md). Wrapping the
// app's route handlers or patching Express's prototypes would reach further into the app.
/**
 * Router 2.3+ (Express 5) records every error passed to next() in a Set under this registered
 * symbol (shared by its copies); the first is what the handler threw. Absent elsewhere.
 */
const ROUTER_ERRORS = Symbol.for('router.tracing.publishedErrors');

interface RouteLike {
  path?: unknown;
}

interface Observed {
  route?: RouteLike;
  baseUrl?: string;
  params?: unknown;
  [ROUTER_ERRORS]?: unknown;
}

/** The route of one request as it was when it matched, with req.baseUrl and req.params then. */
interface RouteSeen {
  /** False when the request took no accessor: the route is read as Express left it. */
  observed: boolean;
  route: RouteLike | undefined;
  base: string | undefined;
  params: unknown;
}

/**
 * Puts the accessor on the request. Another accessor already there (a second audit middleware, or
 * anything else) keeps receiving every assignment, and its value stays what the getter returns.
 */
function observeRoute(req: Observed, seen: RouteSeen): void {
  const before = Object.getOwnPropertyDescriptor(req, 'route');
  // Chained only when it is a whole accessor (a getter alone could not follow the assignments).
  const chained = before?.get && before.set ? before : undefined;
  seen.route = req.route; // set when the audit runs inside a route
  seen.base = req.baseUrl;
  seen.params = req.params;
  Object.defineProperty(req, 'route', {
    configurable: true,
    enumerable: true,
    get: chained?.get ?? (() => seen.route),
    set(this: Observed, route: RouteLike | undefined) {
      seen.route = route;
      seen.base = this.baseUrl;
      seen.params = this.params;
      if (chained) chained.set?.call(this, route);
    },
  });
  seen.observed = true;
}

/** The first error a layer passed to next() (what the handler threw), where the router tells it. */
function thrownError(req: Observed): unknown {
  const seen = req[ROUTER_ERRORS];
  if (seen instanceof Set) for (const err of seen) return err;
  return undefined;
}

/** body-parser and raw-body errors carry a `type`: 'entity.parse.failed', 'request.aborted', ... */
function parserFailure(err: unknown): string | undefined {
  const type = typeof err === 'object' && err !== null ? (err as { type?: unknown }).type : undefined;
  return typeof type === 'string' ? type : undefined;
}

function captureBody(
  req: Request,
  max: number,
  contentType: string,
  length: number,
  thrown: unknown,
): BodyCapture | undefined {
  const body: unknown = req.body;
  if (body === undefined) {
    if (length > 0 || req.headers['transfer-encoding']) {
      const failure = parserFailure(thrown);
      return bodyNote(failure ? `body parser failed (${failure})` : 'body not parsed by the app', length);
    }
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

interface Adapter {
  audit: Audit;
  routes: RouteActionCache;
  maxBody: number;
  resolve: (req: Request, res: Response) => Principal | undefined;
  clientIp: (req: Request) => string | undefined;
}

/** Answers 503 to a request refused before its handler ran, counted with its reason. */
function refuse(audit: Audit, res: Response, reason: RefusalReason): void {
  const retryAfter = audit.refuse(reason);
  try {
    res.status(503).set('Retry-After', String(retryAfter)).json(refusalBody(reason));
  } catch {
    // A response already under way (headers sent): nothing more can be said to the client.
  }
}

/**
 * Records the intent of a durable route and waits (without blocking) until it is durable; then
 * calls `next`, or answers 503 when it is not. Sets res.locals.auditIntent once it is queued.
 */
function recordIntent(
  a: Adapter,
  req: Request,
  res: Response,
  route: string | undefined,
  next: () => void,
): void {
  let event: CapturedEvent;
  try {
    const method = req.method;
    const url = req.originalUrl ?? req.url ?? '';
    const path = pathOf(url);
    let notes = '';
    let who: Principal | undefined;
    try {
      who = a.resolve(req, res);
    } catch (err) {
      notes = addNote(notes, 'principal', err);
    }
    let ip: string | undefined;
    try {
      ip = a.clientIp(req) ?? req.socket?.remoteAddress;
    } catch (err) {
      notes = addNote(notes, 'client ip', err);
    }
    event = intentEvent({
      ts: Date.now(),
      method,
      path,
      url,
      route: route ?? '',
      derived: route
        ? a.routes.get(method, route)
        : { action: UNROUTED_INTENT_ACTION, param: '', prefix: path },
      params: req.params,
      param: expressParam,
      override: res.locals.auditOverride as AuditOverride | undefined,
      who,
      status: 0,
      durationMs: 0,
      headers: req.headers,
      header: nodeHeader,
      clientIp: ip,
      contentType: '',
      body: undefined,
      error: '',
      notes,
    });
    if (notes !== '') a.audit.countError('capture', lastNoteWithMessage());
  } catch (err) {
    // No intent, no handler: the route asked for one.
    a.audit.countError('capture', `intent could not be built: ${errorName(err)}`);
    refuse(a.audit, res, 'intent_lost');
    return;
  }
  const { id, outcome } = a.audit.intent(event);
  if (id !== undefined) res.locals.auditIntent = id;
  outcome
    .then(({ refused }) => {
      // The client left while the intent was made durable: its request is over (recorded as 499,
      // naming the intent), so its handler must not run now.
      if (res.destroyed || res.writableEnded || req.destroyed) return;
      if (refused === undefined) next();
      else refuse(a.audit, res, refused);
    })
    .catch((err: unknown) => {
      // Not expected (intent() never rejects, next() does not throw): counted, never the app's.
      a.audit.countError('capture', `durable gate failed: ${errorName(err)}`);
    });
}

/**
 * Records the request once its response finished or its connection closed. Every part is read on
 * its own: one that fails leaves a safe default and a note in the event's `error` (or a body
 * note), and the request is still recorded.
 */
function record(
  a: Adapter,
  req: Request,
  res: Response,
  seen: RouteSeen,
  ts: number,
  t0: number,
  path: string,
  url: string,
  durable: boolean,
) {
  const startedAt = performance.now();
  const r = req as unknown as Observed;
  let method = '';
  let status = 0;
  let notes = '';
  let event: CapturedEvent | undefined;
  try {
    method = req.method;
    // A connection that closed before the response finished is recorded as 499 (client gone).
    const aborted = !res.writableFinished;
    status = aborted ? 499 : res.statusCode;
    let thrown: unknown;
    let error = aborted ? 'ClientClosedRequest' : '';
    try {
      thrown = thrownError(r);
      if (thrown !== undefined && !aborted) error = errorName(thrown);
    } catch (err) {
      notes = addNote(notes, 'error', err);
    }
    let route = '';
    let derived: RouteAction | undefined;
    let params: unknown;
    try {
      const matched = seen.observed ? seen.route : r.route;
      if (matched?.path !== undefined) {
        route = `${(seen.observed ? seen.base : r.baseUrl) ?? ''}${String(matched.path)}`;
        params = seen.observed ? seen.params : r.params;
        derived = a.routes.get(method, route);
      }
    } catch (err) {
      route = '';
      derived = undefined;
      notes = addNote(notes, 'route', err);
    }
    let override: AuditOverride | undefined;
    try {
      override = res.locals.auditOverride as AuditOverride | undefined;
    } catch (err) {
      notes = addNote(notes, 'override', err);
    }
    let who: Principal | undefined;
    try {
      who = a.resolve(req, res);
    } catch (err) {
      notes = addNote(notes, 'principal', err);
    }
    let ip: string | undefined;
    try {
      ip = a.clientIp(req) ?? req.socket?.remoteAddress;
    } catch (err) {
      notes = addNote(notes, 'client ip', err);
    }
    const headers = req.headers;
    const contentType = header(req, 'content-type') ?? '';
    const length = parseLength(header(req, 'content-length'));
    let body: BodyCapture | undefined;
    if (method !== 'GET' && method !== 'HEAD') {
      try {
        body = captureBody(req, a.maxBody, contentType, length, thrown);
      } catch (err) {
        body = bodyNote(`body unreadable (${errorName(err)})`, length);
      }
    }
    const parts: RequestParts = {
      ts,
      method,
      path,
      url,
      route,
      derived,
      params,
      param: expressParam,
      override,
      who,
      status,
      durationMs: startedAt - t0,
      headers,
      header: nodeHeader,
      clientIp: ip,
      contentType,
      body,
      error,
      notes,
    };
    event = buildEvent(parts);
    notes = parts.notes;
    if (durable) {
      const intentId = res.locals.auditIntent;
      if (typeof intentId === 'string' && intentId !== '') {
        event.phase = Phase.COMPLETED;
        event.intentId = intentId;
      }
    }
  } catch (err) {
    notes = addNote(notes, 'request', err);
    event = lastResort(ts, method, path, status, startedAt - t0, notes);
  }
  // Audit code never throws into the app; what failed is counted (audit_errors_total).
  if (notes !== '') a.audit.countError('capture', lastNoteWithMessage());
  handOver(a.audit, event, startedAt);
}

/** Requests that expressMetrics answered: expressAudit records no event for them. */
const scrapes = new WeakSet<Request>();

/**
 * Audit middleware for Express. Register it before your routes (`app.use(expressAudit(audit))`).
 *
 * @example
 * const audit = await createAudit();
 * app.use(express.json());
 * app.use(expressAudit(audit, { resolve: (req) => ({ actorId: req.user.id, organizationId: req.user.org }) }));
 */
export function expressAudit(audit: Audit, options: ExpressAuditOptions = {}): RequestHandler {
  const { resolve = defaultResolve, clientIp = defaultClientIp } = options;
  const adapter: Adapter = {
    audit,
    routes: new RouteActionCache(),
    maxBody: audit.config.maxBodySize,
    resolve,
    clientIp,
  };

  if (!audit.active) {
    return function auditDisabled(_req: Request, _res: Response, next: NextFunction) {
      next();
    };
  }

  const failClosed = audit.failClosed;
  const isDurable = audit.isDurable;
  const gate: DurableGate = (req, res, route, go) => recordIntent(adapter, req, res, route, go);

  return function auditRequest(req: Request, res: Response, next: NextFunction) {
    // The whole path as the client sent it: req.path lacks the mount path of the audit (or of the
    // router it sits in), and req.baseUrl changes as the request goes through routers.
    const url = req.originalUrl ?? req.url ?? '';
    const path = pathOf(url);
    if (audit.isExcluded(path)) {
      next();
      return;
    }
    if (failClosed) {
      const reason = audit.admission();
      if (reason !== undefined) {
        refuse(audit, res, reason);
        return;
      }
    }
    const durable = isDurable !== undefined || durableRoutesDeclared();
    const ts = Date.now();
    const t0 = performance.now();
    const seen: RouteSeen = { observed: false, route: undefined, base: undefined, params: undefined };
    try {
      observeRoute(req as unknown as Observed, seen);
    } catch {
      // A request that takes no accessor: the route is read at the end, as Express left it.
      seen.observed = false;
    }
    // A response emits 'close' once, after 'finish' when it was sent whole and alone when the
    // connection closed first (record() tells the two apart): one listener, nothing to remove.
    res.on('close', () => {
      // A scrape of the metrics the audit serves (expressMetrics) is not an event.
      if (scrapes.has(req)) return;
      record(adapter, req, res, seen, ts, t0, path, url, durable);
    });
    // A durable path's intent, before any other middleware or handler; refused, the request is
    // answered 503 here (and recorded at 'close', naming the intent if one was queued).
    if (isDurable?.(path)) {
      gate(req, res, undefined, next);
      return;
    }
    if (durableRoutesDeclared()) res.locals.auditGate = gate;
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
  if (override.durable !== true) {
    return function auditOverride(_req: Request, res: Response, next: NextFunction) {
      res.locals.auditOverride = override;
      next();
    };
  }
  declareDurableRoute();
  return function auditDurable(req: Request, res: Response, next: NextFunction) {
    res.locals.auditOverride = override;
    // No gate: the audit is disabled or skips this path (AUDIT_ENABLED=false, an excluded path).
    const gate = res.locals.auditGate as DurableGate | undefined;
    if (gate === undefined) {
      next();
      return;
    }
    const route = req.route?.path;
    gate(req, res, typeof route === 'string' ? `${req.baseUrl ?? ''}${route}` : undefined, next);
  };
}

/**
 * A ready `/metrics` handler serving the audit's prom-client registry. Its scrapes are not audited
 * (no event, not counted), wherever it is mounted.
 *
 * @example
 * app.get('/metrics', expressMetrics(audit));
 */
export function expressMetrics(audit: Audit): RequestHandler {
  return function metrics(req: Request, res: Response, next: NextFunction) {
    scrapes.add(req);
    audit.registry.metrics().then((text) => {
      res.type(audit.registry.contentType).send(text);
    }, next);
  };
}
