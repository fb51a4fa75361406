// Turns what an adapter read from its framework into a CapturedEvent. The rules that must not
// differ between frameworks live here once: the caps on header-derived strings, the action and
// target fallbacks, the trace id, the body fields, and what happens when a part cannot be read
// (a safe default and a note in `error`: the event is kept with what is known).
import type { Audit } from '../audit.js';
import { BodyKind, type CapturedEvent, Phase } from '../event.js';
import type { BodyCapture } from './body.js';
import {
  type AuditOverride,
  addNote,
  CAP,
  cap,
  errorMessage,
  type Principal,
  traceIdFrom,
} from './request-fields.js';
import type { RouteAction } from './route-action.js';

/** Reads one value (a header, a route parameter) from its source; a module-level function. */
export type Reader = (source: unknown, name: string) => string | undefined;

/**
 * The parts of one request. Headers and route parameters come as a source and a module-level
 * reader of it, so an adapter allocates no closure per request for them.
 */
export interface RequestParts {
  ts: number;
  method: string;
  path: string;
  /** The URL (or path) with its query string, if any. */
  url: string;
  route: string;
  derived: RouteAction | undefined;
  /** Where the route parameters are, for `param`. */
  params: unknown;
  /** The value of a route parameter. */
  param: Reader;
  override: AuditOverride | undefined;
  /** Who made the request; undefined when unknown. */
  who: Principal | undefined;
  status: number;
  durationMs: number;
  /** Where the request headers are, for `header`. */
  headers: unknown;
  /** The value of a request header (lower-case name). */
  header: Reader;
  clientIp: string | undefined;
  contentType: string;
  body: BodyCapture | undefined;
  /** Name of the error the handler threw, '' when none. */
  error: string;
  /** The event id of this request's durable intent, '' (or absent) when it had none. */
  intentId?: string;
  /**
   * What the adapter could not read ('' when it read everything). buildEvent appends to it what it
   * could not read itself, so after the call a non-empty value means the capture was incomplete.
   */
  notes: string;
}

/** Reads a header from a Node header object (IncomingMessage.headers); the first of repeated ones. */
export function nodeHeader(headers: unknown, name: string): string | undefined {
  const v = (headers as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Reads a header from a fetch Headers object. */
export function fetchHeader(headers: unknown, name: string): string | undefined {
  return (headers as Headers).get(name) ?? undefined;
}

/** The reader for a request whose headers could not be reached: every header is absent. */
export function noHeader(_headers: unknown, _name: string): string | undefined {
  return undefined;
}

const NO_PRINCIPAL: Principal = Object.freeze({});

export function buildEvent(p: RequestParts): CapturedEvent {
  const { derived, url } = p;
  const override = p.override;
  let action: string | undefined;
  let target: string | undefined;
  if (override !== undefined) {
    try {
      action = override.action;
      target = override.target;
    } catch (err) {
      p.notes = addNote(p.notes, 'override', err);
    }
  }
  if (target === undefined) {
    target = p.path;
    if (derived) {
      target = derived.prefix;
      if (derived.param) {
        try {
          target = derived.prefix + (p.param(p.params, derived.param) ?? '');
        } catch (err) {
          p.notes = addNote(p.notes, 'route parameters', err);
        }
      }
    }
  }
  const who = p.who ?? NO_PRINCIPAL;
  let actorId = '';
  let actorType = '';
  let organizationId = '';
  let accountId = '';
  try {
    actorId = cap(who.actorId, CAP.id);
    actorType = cap(who.actorType, CAP.id);
    organizationId = cap(who.organizationId, CAP.id);
    accountId = cap(who.accountId, CAP.id);
  } catch (err) {
    actorId = actorType = organizationId = accountId = '';
    p.notes = addNote(p.notes, 'principal', err);
  }
  let requestId = '';
  let traceId = '';
  let userAgent = '';
  try {
    requestId = cap(p.header(p.headers, 'x-request-id'), CAP.id);
    traceId = traceIdFrom(p.header(p.headers, 'traceparent')) || requestId;
    userAgent = cap(p.header(p.headers, 'user-agent'), CAP.header);
  } catch (err) {
    p.notes = addNote(p.notes, 'headers', err);
  }
  const q = url.indexOf('?');
  const notes = p.notes;
  return {
    ts: p.ts,
    seq: 0,
    method: p.method,
    path: cap(p.path, CAP.path),
    query: q < 0 ? '' : cap(url.slice(q + 1), CAP.query),
    route: p.route,
    status: p.status,
    durationMs: p.durationMs,
    actorId,
    actorType,
    organizationId,
    accountId,
    action: cap(action ?? derived?.action ?? 'route.unmatched', CAP.id),
    target: cap(target, CAP.path),
    traceId,
    requestId,
    clientIp: cap(p.clientIp, CAP.id),
    userAgent,
    contentType: cap(p.contentType, CAP.id),
    bodyKind: p.body?.kind ?? BodyKind.NONE,
    body: p.body?.body ?? null,
    bodySize: p.body?.size ?? -1,
    bodyTruncated: p.body?.truncated ?? false,
    error: cap(notes === '' ? p.error : p.error === '' ? notes : `${p.error}; ${notes}`, CAP.id),
    phase: Phase.NONE,
    intentId: '',
  };
}

/**
 * The event of a request whose parts could not be assembled at all: what every adapter knows
 * without reading the framework (method, path, status, time) and the note of what failed.
 */
export function minimalEvent(
  ts: number,
  method: string,
  path: string,
  status: number,
  durationMs: number,
  error: string,
): CapturedEvent {
  const p = cap(path, CAP.path);
  return {
    ts,
    seq: 0,
    method: cap(method, CAP.id),
    path: p,
    query: '',
    route: '',
    status: typeof status === 'number' ? status : 0,
    durationMs,
    actorId: '',
    actorType: '',
    organizationId: '',
    accountId: '',
    action: 'route.unmatched',
    target: p,
    traceId: '',
    requestId: '',
    clientIp: '',
    userAgent: '',
    contentType: '',
    bodyKind: BodyKind.NONE,
    body: null,
    bodySize: -1,
    bodyTruncated: false,
    error: cap(error, CAP.id),
    phase: Phase.NONE,
    intentId: '',
  };
}

/** minimalEvent(), or undefined when not even that can be made. */
export function lastResort(
  ts: number,
  method: string,
  path: string,
  status: number,
  durationMs: number,
  error: string,
): CapturedEvent | undefined {
  try {
    return minimalEvent(ts, method, path, status, durationMs, error);
  } catch {
    return undefined;
  }
}

/**
 * Hands the event of one request to the audit. One that cannot be captured (none could be made,
 * or capture() threw) is counted as captured and dropped (`capture_error`), never lost silently.
 */
export function handOver(
  audit: Pick<Audit, 'capture' | 'countError' | 'dropUncaptured'>,
  event: CapturedEvent | undefined,
  startedAt: number,
): void {
  if (event === undefined) {
    audit.dropUncaptured('event could not be built');
    return;
  }
  try {
    audit.capture(event, startedAt);
  } catch (err) {
    audit.countError('capture', `capture threw: ${errorMessage(err)}`);
    audit.dropUncaptured('capture threw');
  }
}
