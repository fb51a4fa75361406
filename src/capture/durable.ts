// What both adapters share for AUDIT_FAILURE_MODE=closed and durable routes: the reasons a request
// is refused, the 503 answer, and the intent event recorded before a durable route's handler.
import { type CapturedEvent, Phase } from '../event.js';
import { buildEvent, type RequestParts } from './build-event.js';

/**
 * Why a request was answered 503 before its handler ran (the `reason` label of
 * audit_requests_refused_total and of the answer's body).
 */
export type RefusalReason =
  /** The ring has no room for another event (AUDIT_MAX_QUEUE_SIZE or AUDIT_RING_BYTES reached). */
  | 'ring_full'
  /** OpenSearch is not taking events and the spool's volume or AUDIT_SPOOL_MAX_BYTES is full. */
  | 'spool_full'
  /** OpenSearch is not taking events and the spool folder cannot be written (read-only, gone). */
  | 'spool_error'
  /** The worker has not yet said whether events can be kept (the first milliseconds after start). */
  | 'starting'
  /** close() was called. */
  | 'closed'
  /** A durable route's intent was not durable within AUDIT_DURABLE_TIMEOUT_MS. */
  | 'durable_timeout'
  /** A durable route's intent could not be kept (dropped or refused, and counted as such). */
  | 'intent_lost';

/** The JSON body of a refusal: the coded error a client can match on. */
export function refusalBody(reason: RefusalReason): {
  error: { code: 'AUDIT_ERR_UNAVAILABLE'; reason: RefusalReason; message: string };
} {
  return {
    error: {
      code: 'AUDIT_ERR_UNAVAILABLE',
      reason,
      message: 'The audit trail cannot record this request now; it was not processed. Retry later.',
    },
  };
}

/** Whether any route declared auditAs({ durable: true }): until one does, the adapters skip its bookkeeping. */
let declared = false;

/** Called by auditAs({ durable: true }) of either adapter, once per route at app setup. */
export function declareDurableRoute(): void {
  declared = true;
}

export function durableRoutesDeclared(): boolean {
  return declared;
}

/**
 * The intent of a durable route: who, tenant, action, target and request id, before the handler
 * ran (no status, duration or body yet). Throws what buildEvent throws.
 */
export function intentEvent(parts: RequestParts): CapturedEvent {
  const event = buildEvent(parts);
  event.phase = Phase.RECEIVED;
  return event;
}

/** The action of an intent recorded before routing (AUDIT_DURABLE_PATHS), when no override names one. */
export const UNROUTED_INTENT_ACTION = 'request.received';
