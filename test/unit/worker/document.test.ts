import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BodyKind, type CapturedEvent } from '../../../src/event.js';
import { REDACTED, Sanitizer } from '../../../src/redact/sanitizer.js';
import {
  eventId,
  IndexNamer,
  indexSuffix,
  jsonLengthBound,
  toDocument,
} from '../../../src/worker/document.js';
import { event, instance } from '../../support/captured-event.js';
import { JWT } from '../../support/secret-samples.js';

const R = REDACTED;

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

describe('redaction in the stored document', () => {
  /** A bare event (no body, no query) with `over` set. */
  const bare = (over: Partial<CapturedEvent>): CapturedEvent => ({
    ts: Date.UTC(2026, 10, 27),
    seq: 1,
    method: 'POST',
    path: '/x',
    query: '',
    route: '',
    status: 200,
    durationMs: 1,
    actorId: 'a',
    actorType: 'user',
    organizationId: 'o',
    accountId: '',
    action: 'x.create',
    target: '',
    traceId: '',
    requestId: 'r',
    clientIp: '127.0.0.1',
    userAgent: '',
    contentType: '',
    bodyKind: BodyKind.NONE,
    body: null,
    bodySize: -1,
    bodyTruncated: false,
    error: '',
    ...over,
  });
  const doc = (over: Partial<CapturedEvent>) => toDocument(bare(over), ctx, new IndexNamer(ctx)).source;

  it('redacts the path, the target and the user agent', () => {
    expect(
      doc({ path: `/policies/${JWT}`, target: `policy:${JWT}`, userAgent: `curl/8 token=abc123 ${JWT}` }),
    ).toMatchObject({
      request_path: `/policies/${R}`,
      target: `policy:${R}`,
      user_agent: `curl/8 token=${R} ${R}`,
    });
    // behind percent-encoding
    expect(doc({ path: '/reset/token%3Dabc%2B123' }).request_path).toBe(`/reset/token=${R}`);
    expect(doc({ path: '/caf%C3%A9/menu' }).request_path).toBe('/caf%C3%A9/menu');
  });

  it('redacts text, form, query, invalid JSON and JSON bodies', () => {
    const text = (body: string, contentType: string) =>
      doc({ bodyKind: BodyKind.BYTES, body: Buffer.from(body), contentType }).request_body;
    expect(text(`hello Bearer ${JWT} bye`, 'text/plain')).toBe(`hello Bearer ${R} bye`);
    expect(text('<k>AKIAZ3K5QW7R2M4N8P6L</k>', 'application/xml')).toBe(`<k>${R}</k>`);
    expect(
      text('name=n&note=card+4111+1111+1111+1111&Password=x', 'application/x-www-form-urlencoded'),
    ).toEqual({
      name: 'n',
      note: `card ${R}`,
      Password: R,
    });
    expect(text('{"password":"hunter2","x":', 'application/json')).toEqual({
      _unparsed: `{"password":"${R}","x":`,
      _note: 'invalid JSON',
    });
    expect(text(`{"list":[{"n":"${JWT}"}],"ok":"fine"}`, 'application/json')).toEqual({
      list: [{ n: R }],
      ok: 'fine',
    });
    expect(doc({ query: `q=ok&api_key=k1&next=ghp_${'a'.repeat(36)}` }).request_query).toEqual({
      q: 'ok',
      api_key: R,
      next: R,
    });
  });
});
