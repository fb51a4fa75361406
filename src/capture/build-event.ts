// Turns what an adapter read from its framework into a CapturedEvent. The rules that must not
// differ between frameworks live here once: the caps on header-derived strings, the action and
// target fallbacks, the trace id, the body fields.
import { BodyKind, type CapturedEvent } from '../event.js';
import type { BodyCapture } from './body.js';
import { type AuditOverride, CAP, cap, type Principal, traceIdFrom } from './request-fields.js';
import type { RouteAction } from './route-action.js';

export interface RequestParts {
  ts: number;
  method: string;
  path: string;
  /** The URL (or path) with its query string, if any. */
  url: string;
  route: string;
  derived: RouteAction | undefined;
  /** The value of a route parameter. */
  param: (name: string) => string | undefined;
  override: AuditOverride | undefined;
  who: Principal;
  status: number;
  durationMs: number;
  header: (name: string) => string | undefined;
  clientIp: string | undefined;
  contentType: string;
  body: BodyCapture | undefined;
  error: string;
}

export function buildEvent(p: RequestParts): CapturedEvent {
  const { derived, override, who, header, url } = p;
  let target = override?.target;
  if (target === undefined) {
    target = derived
      ? derived.param
        ? derived.prefix + (p.param(derived.param) ?? '')
        : derived.prefix
      : p.path;
  }
  const q = url.indexOf('?');
  const requestId = cap(header('x-request-id'), CAP.id);
  return {
    ts: p.ts,
    seq: 0,
    method: p.method,
    path: cap(p.path, CAP.path),
    query: q < 0 ? '' : cap(url.slice(q + 1), CAP.query),
    route: p.route,
    status: p.status,
    durationMs: p.durationMs,
    actorId: cap(who.actorId, CAP.id),
    actorType: cap(who.actorType, CAP.id),
    organizationId: cap(who.organizationId, CAP.id),
    accountId: cap(who.accountId, CAP.id),
    action: cap(override?.action ?? derived?.action ?? 'route.unmatched', CAP.id),
    target: cap(target, CAP.path),
    traceId: traceIdFrom(header('traceparent')) || requestId,
    requestId,
    clientIp: cap(p.clientIp, CAP.id),
    userAgent: cap(header('user-agent'), CAP.header),
    contentType: cap(p.contentType, CAP.id),
    bodyKind: p.body?.kind ?? BodyKind.NONE,
    body: p.body?.body ?? null,
    bodySize: p.body?.size ?? -1,
    bodyTruncated: p.body?.truncated ?? false,
    error: cap(p.error, CAP.id),
  };
}
