// Request bodies as the adapters hand them to the ring: at most AUDIT_MAX_BODY_SIZE of JSON, form
// or text, in whatever shape the framework already has (bytes, string or parsed value); any other
// content type only as a note with its size. Parsing and redaction happen in the worker.
import { BodyKind } from '../event.js';

export interface BodyCapture {
  kind: BodyKind;
  body: unknown;
  /** Whole body size in bytes, -1 when unknown. */
  size: number;
  truncated: boolean;
}

/** How a body is read, from its media type. */
export type BodyFormat = 'json' | 'form' | 'xml' | 'text' | 'multipart' | 'other';

/** JSON text sequences: captured as text (a JSON parse of several values would fail). */
const JSON_LINES = new Set(['x-ndjson', 'ndjson', 'jsonl', 'x-jsonlines', 'json-seq']);

/**
 * The format of a body from its Content-Type: the media type (`type/subtype` before any `;`
 * parameter, without case or surrounding space) decides, so `json` or `xml` in a parameter (a
 * multipart boundary, a file name) does not. JSON is `…/json` or a `+json` suffix
 * (`application/vnd.api+json`), XML `…/xml` or `+xml`; no type at all is read as text.
 */
export function bodyFormat(contentType: string): BodyFormat {
  // The usual header values, without a slice (this runs on the request path).
  if (contentType === 'application/json' || contentType === 'application/json; charset=utf-8') return 'json';
  if (contentType === '') return 'text';
  const semi = contentType.indexOf(';');
  const type = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  if (type === '') return 'text';
  const slash = type.indexOf('/');
  if (slash <= 0) return 'other';
  const sub = type.slice(slash + 1);
  if (sub === 'json' || sub.endsWith('+json')) return 'json';
  if (sub === 'xml' || sub.endsWith('+xml')) return 'xml';
  if (type.startsWith('text/') || JSON_LINES.has(sub)) return 'text';
  if (type === 'application/x-www-form-urlencoded') return 'form';
  // The framework may hand over the parsed fields; raw multipart is noted by the worker.
  if (type === 'multipart/form-data') return 'multipart';
  return 'other';
}

/** JSON, forms, XML and text are captured; anything else (binary, multipart files) is a size note. */
export function isCapturable(contentType: string): boolean {
  return bodyFormat(contentType) !== 'other';
}

export function bodyNote(note: string, size: number): BodyCapture {
  return { kind: BodyKind.NOTE, body: note, size, truncated: false };
}

export function bodyFromBytes(bytes: Uint8Array, max: number, size: number): BodyCapture {
  const whole = size >= 0 ? size : bytes.length;
  if (bytes.length > max)
    return { kind: BodyKind.BYTES, body: bytes.subarray(0, max), size: whole, truncated: true };
  return { kind: BodyKind.BYTES, body: bytes, size: whole, truncated: whole > bytes.length };
}

export function bodyFromText(text: string, max: number, size: number): BodyCapture {
  if (text.length > max) return { kind: BodyKind.TEXT, body: text.slice(0, max), size, truncated: true };
  return { kind: BodyKind.TEXT, body: text, size, truncated: false };
}

/** A parsed value travels as is; the worker truncates it if its JSON form exceeds `max`. */
export function bodyFromValue(value: unknown, _max: number, size: number): BodyCapture {
  return { kind: BodyKind.VALUE, body: value, size, truncated: false };
}
