// Encodes a captured event into its ring frame on the main thread: the msgpack array of FIELDS
// (src/event.ts), written by hand for the one shape it has. A general encoder (msgpackr) checks
// every value's type, manages its buffer and returns a fresh view per call; here the 26 fields are
// written in order into one reused buffer, ASCII strings byte by byte, and the frame is copied into
// the ring from there. Measured in the server this took the encoder from 2.5 to under 1 µs per GET
// (bench/results/profile-hono.md). The worker decodes with msgpackr (decodeEvent): the bytes are
// plain msgpack, and a unit test round-trips them through msgpackr's decoder.
//
// A parsed body (BodyKind.VALUE) is written here too when it is plain JSON data (objects, arrays,
// strings, numbers, booleans, null); any other value (a Map, a Date, undefined, a File, nesting
// deeper than MAX_DEPTH) is handed to msgpackr whole, as before.
import { Packr } from 'msgpackr';
import { type CapturedEvent, FIELDS } from '../event.js';

/** Nesting of a parsed body written here; deeper values go to msgpackr (which may refuse them). */
const MAX_DEPTH = 64;
/** Strings up to this length are written by a JS loop when ASCII; longer ones by Buffer#write. */
const SHORT_STRING = 64;
const INITIAL_BYTES = 16 * 1024;

/** Not written here: the body goes to msgpackr. */
const UNSUPPORTED = -1;

/**
 * Encodes events into one reused buffer, so it is not reentrant. frame() returns the frame's
 * length in `bytes`, or -1 when the frame would exceed `limit` bytes (the ring's largest frame).
 */
export class EventEncoder {
  readonly #limit: number;
  readonly #packr = new Packr({ useRecords: false, moreTypes: false });
  #buf: Buffer = Buffer.allocUnsafeSlow(INITIAL_BYTES);
  #pos = 0;

  constructor(limit = 0x7fffffff) {
    this.#limit = limit;
  }

  /** The buffer the last frame was written to (valid until the next call). */
  get bytes(): Buffer {
    return this.#buf;
  }

  /** A copy of the frame of `e`; for tests and benchmarks (the hot path uses frame()). */
  encode(e: CapturedEvent): Uint8Array {
    const len = this.frame(e);
    if (len < 0) throw new RangeError(`frame larger than ${this.#limit} bytes`);
    return Uint8Array.prototype.slice.call(this.#buf, 0, len);
  }

  /** Writes the frame of `e` at the start of `bytes`; its length, or -1 when over the limit. */
  frame(e: CapturedEvent): number {
    this.#pos = 0;
    if (!this.#room(64)) return -1;
    const b = this.#buf;
    // array16 of FIELDS.length elements; one named read per field, in FIELDS order (a unit test
    // checks this order against FIELDS).
    b[0] = 0xdc;
    b[1] = 0;
    b[2] = FIELDS.length;
    this.#pos = 3;
    this.#number(e.ts);
    this.#number(e.seq);
    if (!this.#string(e.method)) return -1;
    if (!this.#string(e.path)) return -1;
    if (!this.#string(e.query)) return -1;
    if (!this.#string(e.route)) return -1;
    if (!this.#room(32)) return -1;
    this.#number(e.status);
    this.#number(e.durationMs);
    if (!this.#string(e.actorId)) return -1;
    if (!this.#string(e.actorType)) return -1;
    if (!this.#string(e.organizationId)) return -1;
    if (!this.#string(e.accountId)) return -1;
    if (!this.#string(e.action)) return -1;
    if (!this.#string(e.target)) return -1;
    if (!this.#string(e.traceId)) return -1;
    if (!this.#string(e.requestId)) return -1;
    if (!this.#string(e.clientIp)) return -1;
    if (!this.#string(e.userAgent)) return -1;
    if (!this.#string(e.contentType)) return -1;
    if (!this.#room(16)) return -1;
    this.#number(e.bodyKind);
    if (!this.#body(e.body)) return -1;
    if (!this.#room(16)) return -1;
    this.#number(e.bodySize);
    this.#buf[this.#pos++] = e.bodyTruncated ? 0xc3 : 0xc2;
    if (!this.#string(e.error)) return -1;
    if (!this.#room(2)) return -1;
    this.#number(e.phase);
    if (!this.#string(e.intentId)) return -1;
    return this.#pos;
  }

  /** Makes room for `n` more bytes; false when the frame would exceed the limit. */
  #room(n: number): boolean {
    const need = this.#pos + n;
    if (need > this.#limit) return false;
    if (need <= this.#buf.length) return true;
    const grown = Buffer.allocUnsafeSlow(Math.min(this.#limit, Math.max(need, this.#buf.length * 2)));
    this.#buf.copy(grown, 0, 0, this.#pos);
    this.#buf = grown;
    return true;
  }

  /** A number as msgpack: the smallest integer form within 32 bits, else a float64. Room: 9. */
  #number(v: number): void {
    const b = this.#buf;
    let pos = this.#pos;
    if (Number.isInteger(v) && v >= -0x80000000 && v <= 0xffffffff && !Object.is(v, -0)) {
      if (v >= 0) {
        if (v < 0x80) b[pos++] = v;
        else pos = this.#unsigned(pos, v, 0xcc, 0xcd, 0xce);
      } else if (v >= -32) b[pos++] = v & 0xff;
      else if (v >= -0x80) {
        b[pos++] = 0xd0;
        b[pos++] = v & 0xff;
      } else if (v >= -0x8000) {
        b[pos++] = 0xd1;
        b[pos++] = (v >> 8) & 0xff;
        b[pos++] = v & 0xff;
      } else {
        b[pos++] = 0xd2;
        b.writeInt32BE(v, pos);
        pos += 4;
      }
    } else {
      b[pos++] = 0xcb;
      b.writeDoubleBE(v, pos);
      pos += 8;
    }
    this.#pos = pos;
  }

  /** A string as UTF-8 (lone surrogates become U+FFFD, as in every UTF-8 encoder of Node). */
  #string(s: string): boolean {
    const n = s.length;
    if (n < 32) {
      if (!this.#room(n * 3 + 2)) return false;
      // fixstr when the string is ASCII, the usual case for ids, paths and header values.
      const b = this.#buf;
      const pos = this.#pos;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        b[pos + 1 + i] = c;
      }
      if (i === n) {
        b[pos] = 0xa0 | n;
        this.#pos = pos + 1 + n;
        return true;
      }
    }
    // The header is sized for the longest UTF-8 form (3 bytes per UTF-16 unit) before the bytes
    // are written; msgpack allows a length field larger than needed.
    let most = n * 3;
    if (this.#pos + most + 5 > this.#limit) most = Buffer.byteLength(s);
    if (!this.#room(most + 5)) return false;
    const b = this.#buf;
    const pos = this.#pos;
    const head = most < 0x100 ? 2 : most < 0x10000 ? 3 : 5;
    const start = pos + head;
    let len: number;
    if (n <= SHORT_STRING) {
      len = 0;
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) {
          len = -1;
          break;
        }
        b[start + i] = c;
        len++;
      }
      if (len < 0) len = b.write(s, start, 'utf8');
    } else len = b.write(s, start, 'utf8');
    if (head === 2) {
      b[pos] = 0xd9;
      b[pos + 1] = len;
    } else if (head === 3) {
      b[pos] = 0xda;
      b[pos + 1] = len >>> 8;
      b[pos + 2] = len & 0xff;
    } else {
      b[pos] = 0xdb;
      b.writeUInt32BE(len, pos + 1);
    }
    this.#pos = start + len;
    return true;
  }

  #body(body: unknown): boolean {
    // No body (and a parsed body of undefined, which JSON never gives) is nil.
    if (body === null || body === undefined) {
      this.#buf[this.#pos++] = 0xc0;
      return true;
    }
    if (typeof body === 'string') return this.#string(body);
    if (body instanceof Uint8Array) return this.#binary(body);
    const start = this.#pos;
    const written = this.#value(body, 0);
    if (written === 1) return true;
    if (written === 0) return false;
    this.#pos = start;
    return this.#packed(body);
  }

  #binary(bytes: Uint8Array): boolean {
    const n = bytes.length;
    if (!this.#room(n + 5)) return false;
    const pos = this.#unsigned(this.#pos, n, 0xc4, 0xc5, 0xc6);
    this.#buf.set(bytes, pos);
    this.#pos = pos + n;
    return true;
  }

  /** A value msgpackr encodes (anything this encoder does not write itself). */
  #packed(value: unknown): boolean {
    const packed = this.#packr.pack(value);
    if (!this.#room(packed.length)) return false;
    this.#buf.set(packed, this.#pos);
    this.#pos += packed.length;
    return true;
  }

  /** Plain JSON data: 1 written, 0 over the limit, UNSUPPORTED for anything else. */
  #value(v: unknown, depth: number): number {
    if (!this.#room(9)) return 0;
    switch (typeof v) {
      case 'string':
        return this.#string(v) ? 1 : 0;
      case 'number':
        this.#number(v);
        return 1;
      case 'boolean':
        this.#buf[this.#pos++] = v ? 0xc3 : 0xc2;
        return 1;
      case 'object': {
        if (v === null) {
          this.#buf[this.#pos++] = 0xc0;
          return 1;
        }
        if (depth >= MAX_DEPTH) return UNSUPPORTED;
        if (Array.isArray(v)) return this.#array(v, depth);
        const proto = Object.getPrototypeOf(v);
        if (proto !== Object.prototype && proto !== null) return UNSUPPORTED;
        return this.#map(v as Record<string, unknown>, depth);
      }
      default:
        return UNSUPPORTED;
    }
  }

  #array(a: unknown[], depth: number): number {
    const n = a.length;
    this.#header(n, 0x90, 0xdc, 0xdd);
    for (let i = 0; i < n; i++) {
      const r = this.#value(a[i], depth + 1);
      if (r !== 1) return r;
    }
    return 1;
  }

  #map(o: Record<string, unknown>, depth: number): number {
    const keys = Object.keys(o);
    const n = keys.length;
    this.#header(n, 0x80, 0xde, 0xdf);
    for (let i = 0; i < n; i++) {
      const k = keys[i] as string;
      if (!this.#string(k)) return 0;
      const r = this.#value(o[k], depth + 1);
      if (r !== 1) return r;
    }
    return 1;
  }

  /**
   * A marker and an unsigned value after it, in the smallest of its 8-, 16- and 32-bit forms (uint
   * and bin lengths share this layout); returns the position after it. Room: 5.
   */
  #unsigned(at: number, n: number, x8: number, x16: number, x32: number): number {
    if (n >= 0x100) return this.#wide(at, n, x16, x32);
    this.#buf[at] = x8;
    this.#buf[at + 1] = n;
    return at + 2;
  }

  /** An array or map header: the fix form (0..15 entries), 16-bit or 32-bit count. Room: 5. */
  #header(n: number, fix: number, x16: number, x32: number): void {
    if (n >= 16) this.#pos = this.#wide(this.#pos, n, x16, x32);
    else this.#buf[this.#pos++] = fix | n;
  }

  /** A marker and a 16-bit (below 65,536) or 32-bit big-endian value; the position after it. */
  #wide(at: number, n: number, x16: number, x32: number): number {
    const b = this.#buf;
    if (n < 0x10000) {
      b[at] = x16;
      b[at + 1] = n >>> 8;
      b[at + 2] = n & 0xff;
      return at + 3;
    }
    b[at] = x32;
    b.writeUInt32BE(n, at + 1);
    return at + 5;
  }
}
