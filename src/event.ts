// What the hot path captures for one request, and its wire form in the ring: a msgpack array in a
// fixed field order (no key names per event, no JSON). Both threads import this file; the main
// thread encodes with src/capture/encoder.ts, the worker decodes here and turns a captured event
// into the stored document (src/worker/document.ts).
import { Unpackr } from 'msgpackr';

/** How the request body travels to the worker, which parses and sanitizes it there. */
export const BodyKind = {
  NONE: 0,
  /** Raw bytes (up to AUDIT_MAX_BODY_SIZE), parsed in the worker by content type. */
  BYTES: 1,
  /** A string the framework already decoded. */
  TEXT: 2,
  /** A value the framework already parsed (JSON object, form fields). */
  VALUE: 3,
  /** No content, only a note such as why the body could not be captured. */
  NOTE: 4,
} as const;
export type BodyKind = (typeof BodyKind)[keyof typeof BodyKind];

/**
 * The `organization_id` stored for a request no organization was known for (a failed login, a
 * health check, a gateway that sent no tenant header). These events may concern any tenant: read
 * them as the organization `_none` (`pdaas-audit search --org _none`, or createReader with it).
 *
 * @example
 * const unknownTenant = createReader({ organizationId: NO_ORGANIZATION });
 */
export const NO_ORGANIZATION = '_none';

export interface CapturedEvent {
  /** Request start, ms since the epoch. */
  ts: number;
  /** Per-process sequence number; with `ts` and the process id it makes the event id. */
  seq: number;
  method: string;
  path: string;
  /** Raw query string without '?', '' when none. */
  query: string;
  /** The matched route pattern, '' when no route matched. */
  route: string;
  status: number;
  durationMs: number;
  actorId: string;
  actorType: string;
  organizationId: string;
  accountId: string;
  action: string;
  target: string;
  traceId: string;
  requestId: string;
  clientIp: string;
  userAgent: string;
  contentType: string;
  bodyKind: BodyKind;
  body: unknown;
  /** Size of the whole body in bytes when known, -1 otherwise. */
  bodySize: number;
  bodyTruncated: boolean;
  /** Name of the error the handler threw, '' when none. */
  error: string;
  /** Phase.NONE for a plain event; RECEIVED for a durable route's intent, COMPLETED for its completion. */
  phase: Phase;
  /** The intent's event id on a COMPLETED event, '' otherwise. */
  intentId: string;
}

/** The phase of an event of a durable route (AUDIT_DURABLE_PATHS, auditAs({ durable: true })). */
export const Phase = {
  /** An ordinary event: the request's completion, no intent before it. */
  NONE: 0,
  /** The intent, stored before the handler runs: who, tenant, action, target, request id. */
  RECEIVED: 1,
  /** The completion of a request whose intent was stored; names the intent's event id. */
  COMPLETED: 2,
} as const;
export type Phase = (typeof Phase)[keyof typeof Phase];

/** Field order on the wire. Changing it changes the frame format of both threads at once. */
export const FIELDS = [
  'ts',
  'seq',
  'method',
  'path',
  'query',
  'route',
  'status',
  'durationMs',
  'actorId',
  'actorType',
  'organizationId',
  'accountId',
  'action',
  'target',
  'traceId',
  'requestId',
  'clientIp',
  'userAgent',
  'contentType',
  'bodyKind',
  'body',
  'bodySize',
  'bodyTruncated',
  'error',
  'phase',
  'intentId',
] as const satisfies readonly (keyof CapturedEvent)[];

// copyBuffers: a bytes body is its own copy, never a view into the scratch below.
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, copyBuffers: true });
/**
 * Frames are copied here before decoding: msgpackr reads a SharedArrayBuffer view ~4x slower than
 * plain memory, and a reused buffer saves an allocation per frame. A larger frame gets its own copy.
 */
const SCRATCH_BYTES = 64 * 1024;
let scratch: Buffer | undefined;

/**
 * Decodes a frame back into an event. `frame` may be a view into the ring: it is copied first, and
 * nothing in the result refers to it (strings are new, a bytes body is copied), so the event
 * outlives the release of the ring space.
 */
export function decodeEvent(frame: Uint8Array): CapturedEvent {
  let bytes: Buffer;
  if (frame.length <= SCRATCH_BYTES) {
    bytes = scratch ??= Buffer.allocUnsafeSlow(SCRATCH_BYTES);
    bytes.set(frame);
  } else bytes = Buffer.from(frame);
  const r = unpackr.unpack(bytes, frame.length) as unknown[];
  if (!Array.isArray(r) || r.length !== FIELDS.length) {
    throw new TypeError(
      `frame holds ${Array.isArray(r) ? r.length : typeof r} fields, expected ${FIELDS.length}`,
    );
  }
  // A literal in FIELDS order, not a loop over FIELDS: an object built key by key from a list
  // falls into V8's slow dictionary mode, which cost ~1.8 µs here and slowed every read after.
  return {
    ts: r[0],
    seq: r[1],
    method: r[2],
    path: r[3],
    query: r[4],
    route: r[5],
    status: r[6],
    durationMs: r[7],
    actorId: r[8],
    actorType: r[9],
    organizationId: r[10],
    accountId: r[11],
    action: r[12],
    target: r[13],
    traceId: r[14],
    requestId: r[15],
    clientIp: r[16],
    userAgent: r[17],
    contentType: r[18],
    bodyKind: r[19],
    body: r[20],
    bodySize: r[21],
    bodyTruncated: r[22],
    error: r[23],
    phase: r[24],
    intentId: r[25],
  } as CapturedEvent;
}
