import { unpack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { EventEncoder } from '../../src/capture/encoder.js';
import { decodeEvent, FIELDS } from '../../src/event.js';
import { event } from '../support/captured-event.js';

describe('frames', () => {
  it('round-trips every field through msgpack', () => {
    const e = event();
    const bytes = new EventEncoder().encode(e);
    const back = decodeEvent(Buffer.from(bytes));
    expect({ ...back, body: Buffer.from(back.body as Uint8Array) }).toEqual(e);
  });

  it('puts every field at its FIELDS position on the wire (the encoder and decoder are written out by hand)', () => {
    // Every field distinct, so a swap of any two is seen.
    const e = event({
      path: '/p-path',
      route: '/p-route',
      accountId: 'acc-1',
      traceId: 'trace-1',
      error: 'TypeError',
      bodyTruncated: true,
      bodySize: 99,
    });
    const wire = unpack(new EventEncoder().encode(e)) as unknown[];
    expect(wire).toHaveLength(FIELDS.length);
    FIELDS.forEach((name, i) => {
      const want = e[name];
      const got = wire[i];
      expect(got instanceof Uint8Array ? Buffer.from(got) : got, name).toEqual(want);
    });
    const back = decodeEvent(new EventEncoder().encode(e));
    for (const name of FIELDS) if (name !== 'body') expect(back[name], name).toEqual(e[name]);
  });

  it('rejects a frame of the wrong shape', () => {
    expect(() => decodeEvent(Buffer.from([0x91, 0x01]))).toThrow(/expected 26/);
  });

  it('decodes a view into shared memory into an event that keeps nothing of it', () => {
    // Every field distinct, so a field read from the wrong position shows.
    const e = event({ accountId: 'acc-3', traceId: 'trace-4', error: 'Oops', bodyTruncated: true });
    const bytes = new EventEncoder().encode(e);
    const ring = new Uint8Array(new SharedArrayBuffer(bytes.length + 16));
    ring.set(bytes, 8);
    const back = decodeEvent(ring.subarray(8, 8 + bytes.length));
    // The ring space is released and reused: the decoded event must not change.
    ring.fill(0xff);
    expect(back.body).toBeInstanceOf(Uint8Array);
    expect((back.body as Uint8Array).buffer).not.toBeInstanceOf(SharedArrayBuffer);
    expect({ ...back, body: Buffer.from(back.body as Uint8Array) }).toEqual(e);
  });

  it('keeps each decoded body its own, whatever the frames decoded after it', () => {
    const encoder = new EventEncoder();
    const frames = [
      event({ body: Buffer.from('{"first":1}') }),
      event({ body: Buffer.alloc(200_000, 'x'), bodySize: 200_000 }),
      event({ body: Buffer.from('{"third":3}') }),
    ];
    const decoded = frames.map((e) => decodeEvent(Uint8Array.from(encoder.encode(e))));
    decoded.forEach((back, i) => {
      expect(Buffer.from(back.body as Uint8Array).equals(frames[i]?.body as Buffer), `frame ${i}`).toBe(true);
    });
  });
});
