// What the hot path captures for one request, and its wire form in the ring: a msgpack array in a
// fixed field order (no key names per event, no JSON). Both threads import this file; the worker
// turns a captured event into the stored document (src/document.ts).
import { Packr, Unpackr } from 'msgpackr';

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
}

/** Field order on the wire. Changing it changes the frame format of both threads at once. */
const FIELDS = [
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
] as const satisfies readonly (keyof CapturedEvent)[];

/** Encodes events on the main thread; reuses one array and msgpackr's buffer, so it is not reentrant. */
export class EventEncoder {
  readonly #packr = new Packr({ useRecords: false, moreTypes: false });
  readonly #row: unknown[] = new Array(FIELDS.length);

  encode(e: CapturedEvent): Uint8Array {
    const row = this.#row;
    for (let i = 0; i < FIELDS.length; i++) row[i] = e[FIELDS[i] as keyof CapturedEvent];
    return this.#packr.pack(row);
  }
}

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

/** Decodes a frame (a private copy, never a view into the ring) back into an event. */
export function decodeEvent(bytes: Uint8Array): CapturedEvent {
  const row = unpackr.unpack(bytes) as unknown[];
  if (!Array.isArray(row) || row.length !== FIELDS.length) {
    throw new TypeError(
      `frame holds ${Array.isArray(row) ? row.length : typeof row} fields, expected ${FIELDS.length}`,
    );
  }
  const e = {} as Record<string, unknown>;
  for (let i = 0; i < FIELDS.length; i++) e[FIELDS[i] as string] = row[i];
  return e as unknown as CapturedEvent;
}
