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

/** JSON, forms and text are captured; anything else (binary, multipart files) is a size note. */
export function isCapturable(contentType: string): boolean {
  const t = contentType.toLowerCase();
  return (
    t === '' ||
    t.includes('json') ||
    t.startsWith('text/') ||
    t.includes('x-www-form-urlencoded') ||
    t.includes('xml') ||
    t.startsWith('multipart/form-data')
  );
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
