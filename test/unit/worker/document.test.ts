import fc from 'fast-check';
import { unpack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { traceIdFrom } from '../../src/capture/request-fields.js';
import { deriveRouteAction, singular } from '../../src/capture/route-action.js';
import { BodyKind, type CapturedEvent, decodeEvent, EventEncoder, FIELDS } from '../../src/event.js';
import { REDACTED, Sanitizer } from '../../src/redact/sanitizer.js';
import { eventId, IndexNamer, indexSuffix, jsonLengthBound, toDocument } from '../../src/worker/document.js';

const instance = Uint8Array.from([1, 2, 3, 4, 5, 6]);

function event(over: Partial<CapturedEvent> = {}): CapturedEvent {
  return {
    ts: Date.UTC(2026, 10, 27, 12, 0, 0, 123),
    seq: 7,
    method: 'POST',
    path: '/policies',
    query: 'a=1&a=2&token=t',
    route: '/policies',
    status: 201,
    durationMs: 1.23456,
    actorId: 'alice',
    actorType: 'user',
    organizationId: 'org-1',
    accountId: '',
    action: 'policies.create',
    target: 'policies',
    traceId: '',
    requestId: 'r-1',
    clientIp: '127.0.0.1',
    userAgent: 'ua',
    contentType: 'application/json',
    bodyKind: BodyKind.BYTES,
    body: Buffer.from('{"name":"p","Password":"x","nested":[{"api_key":"k"}]}'),
    bodySize: 52,
    bodyTruncated: false,
    error: '',
    ...over,
  };
}

const ctx = {
  indexPrefix: 'audit',
  rotation: 'daily' as const,
  service: 'api',
  environment: 'test',
  serviceVersion: '1.0.0',
  host: 'h',
  instance,
  sanitizer: new Sanitizer(),
  maxBodySize: 20480,
};

describe('route → action and target', () => {
  it.each([
    ['POST', '/policies', 'policies.create', '', 'policies'],
    ['GET', '/policies', 'policies.list', '', 'policies'],
    ['GET', '/policies/:id', 'policies.read', 'id', 'policy:'],
    ['PATCH', '/service-accounts/:id', 'service-accounts.update', 'id', 'service-account:'],
    ['DELETE', '/organizations/:orgId/members/:userId', 'organizations.members.delete', 'userId', 'member:'],
    ['POST', '/organizations/:orgId/members', 'organizations.members.create', 'orgId', 'organization:'],
    ['GET', '/', 'root.list', '', ''],
  ])('%s %s → %s', (method, route, action, param, prefix) => {
    expect(deriveRouteAction(method, route)).toEqual({ action, param, prefix });
  });

  it('singularizes resource names', () => {
    expect(['policies', 'accounts', 'addresses', 'boxes', 'status', 'groups'].map(singular)).toEqual([
      'policy',
      'account',
      'address',
      'box',
      'status',
      'group',
    ]);
  });
});

describe('request fields', () => {
  it('takes the trace id from a W3C traceparent and refuses malformed ones', () => {
    expect(traceIdFrom('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toBe(
      '4bf92f3577b34da6a3ce929d0e0e4736',
    );
    expect(traceIdFrom('garbage')).toBe('');
    expect(traceIdFrom(undefined)).toBe('');
  });
});

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
    expect(() => decodeEvent(Buffer.from([0x91, 0x01]))).toThrow(/expected 24/);
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

describe('documents', () => {
  it('derives a deterministic, time-ordered UUIDv7 from (ts, seq, instance)', () => {
    const a = eventId(1_764_244_800_123, 7, instance);
    expect(a).toBe(eventId(1_764_244_800_123, 7, instance));
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(eventId(1_764_244_800_123, 8, instance) > a).toBe(true);
    expect(eventId(1_764_244_800_124, 0, instance) > a).toBe(true);
    expect(eventId(1_764_244_800_123, 7, Uint8Array.from([9, 9, 9, 9, 9, 9]))).not.toBe(a);
    expect(Number.parseInt(a.replaceAll('-', '').slice(0, 12), 16)).toBe(1_764_244_800_123);
  });

  it.each([
    [Date.UTC(2026, 10, 27), 'daily', '2026-11-27'],
    [Date.UTC(2026, 10, 27), 'monthly', '2026-11'],
    [Date.UTC(2026, 10, 27), 'weekly', '2026-w48'],
    [Date.UTC(2021, 0, 1), 'weekly', '2020-w53'],
    [Date.UTC(2024, 11, 30), 'weekly', '2025-w01'],
    [Date.UTC(2026, 0, 1, 23, 59), 'weekly', '2026-w01'],
  ] as const)('index suffix of %s (%s) is %s', (ts, rotation, suffix) => {
    expect(indexSuffix(ts, rotation)).toBe(suffix);
  });

  it('builds the stored document: parsed, redacted body and query, outcome, routing', () => {
    const doc = toDocument(event(), ctx, new IndexNamer(ctx));
    expect(doc.index).toBe('audit-api-2026-11-27');
    expect(doc.routing).toBe('org-1');
    expect(doc.source).toMatchObject({
      occurred_at: '2026-11-27T12:00:00.123Z',
      event_id: doc.id,
      request_query: { a: ['1', '2'], token: REDACTED },
      request_body: { name: 'p', Password: REDACTED, nested: [{ api_key: REDACTED }] },
      response_duration_ms: 1.235,
      outcome: 'success',
      service: 'api',
      environment: 'test',
      service_version: '1.0.0',
    });
  });

  it('marks failures, drops a client address that is not an IP, notes binary bodies', () => {
    const doc = toDocument(
      event({
        status: 500,
        error: 'TypeError',
        clientIp: 'unknown',
        contentType: 'application/pdf',
        bodySize: 9,
      }),
      ctx,
      new IndexNamer(ctx),
    );
    expect(doc.source.outcome).toBe('failure');
    expect(doc.source.error).toBe('TypeError');
    expect(doc.source.client_ip).toBeUndefined();
    expect(doc.source.request_body).toEqual({ _note: 'binary application/pdf, 9 bytes' });
  });

  it('keeps invalid or truncated JSON as text with a note', () => {
    const doc = toDocument(
      event({ body: Buffer.from('{"a":'), bodyTruncated: true }),
      ctx,
      new IndexNamer(ctx),
    );
    expect(doc.source.request_body).toEqual({ _unparsed: '{"a":', _note: 'truncated JSON' });
    expect(doc.source.request_body_truncated).toBe(true);
  });
});

describe('parsed bodies and AUDIT_MAX_BODY_SIZE', () => {
  const valueEvent = (body: unknown) =>
    event({ bodyKind: BodyKind.VALUE, body, bodySize: -1, contentType: 'application/json' });

  it('keeps a parsed body whose JSON fits exactly and truncates one a character longer', () => {
    const body = { note: 'x'.repeat(100) };
    const exact = JSON.stringify(body).length;
    for (const [max, truncated] of [
      [20480, false],
      [exact, false],
      [exact - 1, true],
    ] as const) {
      const doc = toDocument(valueEvent(body), { ...ctx, maxBodySize: max }, new IndexNamer(ctx));
      expect(doc.source.request_body_truncated, `max ${max}`).toBe(truncated || undefined);
      expect(doc.source.request_body).toEqual(
        truncated ? { _unparsed: JSON.stringify(body).slice(0, max), _note: 'truncated JSON' } : body,
      );
    }
  });

  const jsonish = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.string({ unit: 'binary' }),
      fc.string({ unit: fc.constantFrom('"', '\\', '\n', '\u0001', '\ud800', '\udc00', 'é', '😀', 'a') }),
      fc.double(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
      fc.array(tie('value'), { maxLength: 5 }),
      fc.dictionary(fc.string({ unit: 'binary', maxLength: 8 }), tie('value'), { maxKeys: 5 }),
    ),
  })).value;

  it('bounds the JSON length from above, so a body under the bound is never one to truncate', () => {
    fc.assert(
      fc.property(jsonish, fc.integer({ min: 0, max: 400 }), (value, limit) => {
        const length = (JSON.stringify(value) ?? '').length;
        expect(jsonLengthBound(value, Number.POSITIVE_INFINITY)).toBeGreaterThanOrEqual(length);
        if (jsonLengthBound(value, limit) <= limit) expect(length).toBeLessThanOrEqual(limit);
      }),
      { numRuns: 2000 },
    );
  });

  it('counts a toJSON method or a bigint as past any limit', () => {
    expect(jsonLengthBound({ at: new Date(0) }, 1e9)).toBe(Number.POSITIVE_INFINITY);
    expect(jsonLengthBound([1n], 1e9)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('sanitizer', () => {
  it('keeps __proto__ and constructor as renamed data keys and pollutes nothing', () => {
    const hostile = JSON.parse('{"__proto__":{"polluted":1},"constructor":{"prototype":{"x":1}},"ok":1}');
    const out = new Sanitizer().value(hostile) as Record<string, unknown>;
    expect(Object.keys(out).sort()).toEqual(['[__proto__]', '[constructor]', 'ok']);
    expect(out['[constructor]']).toEqual({ '[prototype]': { x: 1 } });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('cuts depth bombs', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 10_000; i++) deep = { d: deep };
    const out = JSON.stringify(new Sanitizer().value(deep));
    expect(out).toContain('too deep');
    expect(out.length).toBeLessThan(1000);
  });
});
