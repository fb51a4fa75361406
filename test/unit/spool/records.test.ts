import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeRecords, encodeRecords } from '../../../src/spool/records.js';
import type { AuditDocument } from '../../../src/worker/document.js';
import { doc, docs } from '../../support/audit-documents.js';

describe('spool records', () => {
  it('round-trips documents exactly, including unicode, routing and nested sources', () => {
    const input: AuditDocument[] = [
      doc(1),
      doc(2, {
        user: {
          id: 'ü-☃-😀',
          roles: ['admin', 'ré\u0000sumé'],
          meta: { deep: { deeper: [1, null, true, 2.5] } },
        },
        body: 'line1\nline2\t"quoted"\\',
        empty: {},
        list: [],
      }),
      { index: 'i', id: 'x', routing: 'r-ßπ', source: {} },
      { index: 'i', id: 'y', routing: undefined, source: { 'k€y': '\u2028\u2029', n: -0.000001 } },
    ];
    const file = Buffer.concat(encodeRecords(input));
    const out = decodeRecords(file);
    expect(out.corruptTail).toBe(false);
    expect(out.docs).toStrictEqual(input);
  });

  it('writes the record format of earlier versions byte for byte, and reads their files', () => {
    // The encoder every earlier version used: a buffer per payload, header and record.
    const legacy = (d: AuditDocument) => {
      const payload = Buffer.from(JSON.stringify({ i: d.index, d: d.id, r: d.routing, s: d.source }));
      const header = Buffer.allocUnsafe(8);
      header.writeUInt32LE(payload.length, 0);
      header.writeUInt32LE(crc32(payload), 4);
      return Buffer.concat([header, payload]);
    };
    const input = [
      ...docs(0, 3),
      doc(3, { s: 'é☃😀 "q" \\ \n', lone: '\ud800' }),
      doc(4, { n: [1.5, -0, 1e300] }),
    ];
    const file = Buffer.concat(input.map(legacy));
    expect(Buffer.concat(encodeRecords(input)).equals(file)).toBe(true);
    const viaJson = input.map((d) => ({ ...d, source: JSON.parse(JSON.stringify(d.source)) }));
    expect(decodeRecords(file)).toStrictEqual({ docs: viaJson, corruptTail: false });
  });

  it('returns records that stand alone: any prefix of them is a valid file', () => {
    const input = docs(0, 6);
    const records = encodeRecords(input);
    for (let k = 0; k <= records.length; k++) {
      expect(decodeRecords(Buffer.concat(records.slice(0, k)))).toStrictEqual({
        docs: input.slice(0, k),
        corruptTail: false,
      });
    }
  });

  it('encodes one record per document with an 8-byte header holding the payload length', () => {
    const records = encodeRecords([doc(1), doc(2)]);
    expect(records).toHaveLength(2);
    for (const r of records) expect(r.readUInt32LE(0)).toBe(r.length - 8);
    expect(decodeRecords(Buffer.alloc(0))).toEqual({ docs: [], corruptTail: false });
  });

  it('a file torn at any byte of its last record gives all earlier documents and corruptTail', () => {
    const input = [...docs(0, 3), doc(3, { s: 'é☃😀'.repeat(5) })];
    const records = encodeRecords(input);
    const whole = Buffer.concat(records);
    const lastStart = whole.length - (records[3] as Buffer).length;
    for (let cut = lastStart + 1; cut < whole.length; cut++) {
      let out: ReturnType<typeof decodeRecords> | undefined;
      expect(() => {
        out = decodeRecords(whole.subarray(0, cut));
      }).not.toThrow();
      expect(out?.corruptTail, `cut at ${cut}`).toBe(true);
      expect(out?.docs, `cut at ${cut}`).toStrictEqual(input.slice(0, 3));
    }
    // Cut exactly at a record boundary: nothing torn.
    expect(decodeRecords(whole.subarray(0, lastStart))).toStrictEqual({
      docs: input.slice(0, 3),
      corruptTail: false,
    });
  });

  it('detects a flipped byte in any payload position and keeps the records before it', () => {
    const input = docs(0, 3);
    const records = encodeRecords(input);
    const whole = Buffer.concat(records);
    const secondStart = (records[0] as Buffer).length;
    const secondEnd = secondStart + (records[1] as Buffer).length;
    for (let at = secondStart + 8; at < secondEnd; at++) {
      const copy = Buffer.from(whole);
      copy[at] = (copy[at] as number) ^ 0x01;
      const out = decodeRecords(copy);
      expect(out.corruptTail, `flip at ${at}`).toBe(true);
      expect(out.docs).toStrictEqual(input.slice(0, 1));
    }
  });

  it('detects a corrupted checksum field', () => {
    const input = docs(0, 2);
    const records = encodeRecords(input);
    const whole = Buffer.concat(records);
    const at = (records[0] as Buffer).length + 4;
    whole.writeUInt32LE((whole.readUInt32LE(at) + 1) >>> 0, at);
    expect(decodeRecords(whole)).toStrictEqual({ docs: input.slice(0, 1), corruptTail: true });
  });

  it('detects a garbage length field', () => {
    const input = docs(0, 2);
    const records = encodeRecords(input);
    for (const len of [0xffffffff, 0x7fffffff, 64 * 1024 * 1024 + 1, 0]) {
      const whole = Buffer.concat(records);
      whole.writeUInt32LE(len, (records[0] as Buffer).length);
      let out: ReturnType<typeof decodeRecords> | undefined;
      expect(() => {
        out = decodeRecords(whole);
      }).not.toThrow();
      expect(out, `length ${len}`).toStrictEqual({ docs: input.slice(0, 1), corruptTail: true });
    }
  });

  it('treats a zero-filled tail and a valid checksum over non-JSON as corrupt', () => {
    const input = docs(0, 1);
    const zeros = Buffer.concat([...encodeRecords(input), Buffer.alloc(64)]);
    expect(decodeRecords(zeros)).toStrictEqual({ docs: input, corruptTail: true });
    const payload = Buffer.from('{not json');
    const header = Buffer.alloc(8);
    header.writeUInt32LE(payload.length, 0);
    header.writeUInt32LE(crc32(payload), 4);
    const bad = Buffer.concat([...encodeRecords(input), header, payload]);
    expect(decodeRecords(bad)).toStrictEqual({ docs: input, corruptTail: true });
  });
});
