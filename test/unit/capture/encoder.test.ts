// The hand-written frame encoder against msgpackr, the worker's decoder: every frame it writes must
// decode to exactly what msgpackr's own encoding of the same row decodes to.
import { Packr, unpack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { EventEncoder } from '../../../src/capture/encoder.js';
import { BodyKind, type CapturedEvent, decodeEvent, FIELDS } from '../../../src/event.js';
import { event } from '../../support/captured-event.js';

// variableMapSize: msgpackr's default refuses objects of more than 65,535 keys, which this encoder writes.
const reference = new Packr({ useRecords: false, moreTypes: false, variableMapSize: true });

function row(e: CapturedEvent): unknown[] {
  return FIELDS.map((name) => e[name]);
}

/** What msgpackr decodes from our frame and from its own encoding of the same row. */
function both(e: CapturedEvent, encoder = new EventEncoder()): { ours: unknown; theirs: unknown } {
  return { ours: unpack(Buffer.from(encoder.encode(e))), theirs: unpack(reference.pack(row(e))) };
}

const STRINGS = [
  '',
  'a',
  'x'.repeat(31),
  'x'.repeat(32),
  'y'.repeat(64),
  'y'.repeat(65),
  'z'.repeat(255),
  'z'.repeat(256),
  'w'.repeat(70_000),
  'é',
  'naïve café',
  '日本語のパス',
  '😀 emoji 😀',
  `${'é'.repeat(40)}tail`,
  '€'.repeat(30_000),
];

const NUMBERS = [
  0,
  1,
  127,
  128,
  255,
  256,
  65_535,
  65_536,
  0xffff_ffff,
  0x1_0000_0000,
  Date.UTC(2026, 11, 2),
  Number.MAX_SAFE_INTEGER,
  -1,
  -32,
  -33,
  -128,
  -129,
  -32_768,
  -32_769,
  -0x8000_0000,
  -0x8000_0001,
  1.5,
  -2.25,
  0.1,
  1e300,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
];

describe('EventEncoder', () => {
  it('writes frames msgpackr decodes as it decodes its own, for every string size and script', () => {
    const encoder = new EventEncoder();
    for (const s of STRINGS) {
      const e = event({ path: s, userAgent: s, error: s, body: s, bodyKind: BodyKind.TEXT });
      const { ours, theirs } = both(e, encoder);
      expect(ours, `string of ${s.length}`).toEqual(theirs);
      expect((ours as unknown[])[3]).toBe(s);
    }
  });

  it('writes every number as the same value (integers of every width, floats, -0, NaN, infinities)', () => {
    const encoder = new EventEncoder();
    for (const n of NUMBERS) {
      const e = event({ ts: n, seq: n, status: n, durationMs: n, bodySize: n });
      const back = unpack(Buffer.from(encoder.encode(e))) as unknown[];
      for (const i of [0, 1, 6, 7, 21]) expect(back[i], `${n} at ${FIELDS[i]}`).toBe(n);
    }
    const negativeZero = unpack(Buffer.from(encoder.encode(event({ durationMs: -0 })))) as unknown[];
    expect(Object.is(negativeZero[7], -0)).toBe(true);
  });

  it('turns a lone surrogate into U+FFFD, as every UTF-8 encoder of Node does', () => {
    const back = decodeEvent(new EventEncoder().encode(event({ path: 'a\ud800b', error: '\udc00' })));
    expect(back.path).toBe('a\ufffdb');
    expect(back.error).toBe('\ufffd');
  });

  it('writes byte bodies of every length as binary', () => {
    const encoder = new EventEncoder();
    for (const n of [0, 1, 255, 256, 65_535, 65_536, 200_000]) {
      const body = Buffer.alloc(n, n % 251);
      const back = decodeEvent(encoder.encode(event({ body, bodySize: n })));
      expect(Buffer.from(back.body as Uint8Array).equals(body), `${n} bytes`).toBe(true);
    }
  });

  it('writes a parsed JSON body as msgpackr would, whatever its shape', () => {
    const wide = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i]));
    const values: unknown[] = [
      { name: 'p', Password: 'x', nested: [{ api_key: 'k' }], n: null, t: true, f: false, x: -1.5 },
      wide,
      Array.from({ length: 20 }, (_, i) => i * 1000),
      Array.from({ length: 70_000 }, (_, i) => i % 7),
      Object.fromEntries(Array.from({ length: 70_000 }, (_, i) => [`key-${i}`, 'v'])),
      Object.assign(Object.create(null), { field: 'value', other: ['a'] }),
      { '10': 'a', '2': 'b', z: 'c' },
      [],
      {},
      'a string value',
      42,
    ];
    const encoder = new EventEncoder();
    for (const value of values) {
      const { ours, theirs } = both(event({ bodyKind: BodyKind.VALUE, body: value }), encoder);
      expect(ours).toEqual(theirs);
      expect((ours as unknown[])[20]).toEqual(JSON.parse(JSON.stringify(value)));
    }
    // A "__proto__" key of JSON.parse: the decoder renames it in either encoding.
    const proto = JSON.parse('{"__proto__":{"polluted":1},"a":[1,2,3]}');
    const { ours, theirs } = both(event({ bodyKind: BodyKind.VALUE, body: proto }), encoder);
    expect(ours).toEqual(theirs);
  });

  it('hands a body that is not plain JSON data to msgpackr whole', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 100; i++) deep = { d: deep };
    const values: unknown[] = [
      new Map([['a', 1]]),
      new Date(Date.UTC(2026, 0, 1)),
      { when: new Date(0), list: [1, undefined, 3] },
      [1, 2n ** 40n],
      { bytes: Buffer.from('abc') },
      deep,
    ];
    const encoder = new EventEncoder();
    for (const value of values) {
      const { ours, theirs } = both(event({ bodyKind: BodyKind.VALUE, body: value }), encoder);
      expect(ours).toEqual(theirs);
    }
  });

  it('refuses a frame over its limit with -1 and writes the next one whole', () => {
    const encoder = new EventEncoder(4096);
    expect(encoder.frame(event({ body: Buffer.alloc(5000) }))).toBe(-1);
    expect(encoder.frame(event({ bodyKind: BodyKind.TEXT, body: 'é'.repeat(3000) }))).toBe(-1);
    expect(encoder.frame(event({ bodyKind: BodyKind.VALUE, body: { list: Array(2000).fill('ab') } }))).toBe(
      -1,
    );
    expect(() => encoder.encode(event({ body: Buffer.alloc(5000) }))).toThrow(/larger than 4096/);
    const small = event({ path: '/after' });
    const len = encoder.frame(small);
    expect(len).toBeGreaterThan(0);
    expect(decodeEvent(encoder.bytes.subarray(0, len)).path).toBe('/after');
  });

  it('reuses its buffer: a short frame after a long one holds only itself', () => {
    const encoder = new EventEncoder();
    encoder.encode(event({ body: Buffer.alloc(50_000, 1), userAgent: 'u'.repeat(500) }));
    const e = event({ body: null, bodyKind: BodyKind.NONE, userAgent: 'short' });
    const back = decodeEvent(encoder.encode(e));
    expect(back).toEqual(e);
  });
});
