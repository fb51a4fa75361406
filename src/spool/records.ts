// The spool's record format: an 8-byte header (payload length and CRC-32 of the payload, both
// little-endian u32) and a JSON payload holding one sanitized document. A record that runs past the
// end of its file or fails its checksum marks a torn or corrupt tail: reading stops there.
import { crc32 } from 'node:zlib';
import type { AuditDocument } from '../worker/document.js';

const HEADER = 8;
/** Larger than any document we write (bodies are capped); a length above it is corruption. */
const MAX_RECORD = 64 * 1024 * 1024;

/**
 * One record per document, its payload the JSON of `{ i: index, d: id, r: routing, s: source }`
 * (msgpack measured slower both ways for these documents: their objects have a null prototype).
 * The records are written into one buffer and returned as consecutive views of it: no buffer per
 * payload and per header, no concatenation per record.
 */
export function encodeRecords(docs: readonly AuditDocument[]): Buffer[] {
  const payloads = docs.map((d) =>
    d.json === undefined
      ? JSON.stringify({ i: d.index, d: d.id, r: d.routing, s: d.source })
      : `{"i":${JSON.stringify(d.index)},"d":${JSON.stringify(d.id)}${d.routing === undefined ? '' : `,"r":${JSON.stringify(d.routing)}`},"s":${d.json}}`,
  );
  let size = 0;
  for (const p of payloads) size += HEADER + Buffer.byteLength(p);
  const bytes = Buffer.allocUnsafe(size);
  let at = 0;
  return payloads.map((p) => {
    const len = bytes.write(p, at + HEADER);
    const record = bytes.subarray(at, at + HEADER + len);
    record.writeUInt32LE(len, 0);
    record.writeUInt32LE(crc32(record.subarray(HEADER)), 4);
    at += record.length;
    return record;
  });
}

export interface Decoded {
  docs: AuditDocument[];
  /** True when the file ended in a torn or corrupt record (everything before it is in `docs`). */
  corruptTail: boolean;
}

export function decodeRecords(file: Buffer): Decoded {
  const docs: AuditDocument[] = [];
  let at = 0;
  while (at < file.length) {
    if (file.length - at < HEADER) return { docs, corruptTail: true };
    const len = file.readUInt32LE(at);
    const sum = file.readUInt32LE(at + 4);
    if (len > MAX_RECORD || at + HEADER + len > file.length) return { docs, corruptTail: true };
    const payload = file.subarray(at + HEADER, at + HEADER + len);
    if (crc32(payload) !== sum) return { docs, corruptTail: true };
    try {
      const r = JSON.parse(payload.toString('utf8')) as {
        i: string;
        d: string;
        r?: string;
        s: Record<string, unknown>;
      };
      docs.push({ index: r.i, id: r.d, routing: r.r, source: r.s });
    } catch {
      return { docs, corruptTail: true };
    }
    at += HEADER + len;
  }
  return { docs, corruptTail: false };
}
