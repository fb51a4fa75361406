import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BodyKind, type CapturedEvent, Phase } from '../../../src/event.js';
import { REDACTED, Sanitizer } from '../../../src/redact/sanitizer.js';
import { eventId, IndexNamer, indexSuffix, isoTime, toDocument } from '../../../src/worker/document.js';
import { documentContext, event, instance } from '../../support/captured-event.js';
import { JWT } from '../../support/secret-samples.js';

const R = REDACTED;

const ctx = documentContext();

describe('documents', () => {
  it.each([
    [200, '', 'success'],
    [200, 'audit: principal unreadable (TypeError)', 'success'],
    [200, 'PolicyStoreDown', 'failure'],
    [200, 'PolicyStoreDown; audit: route unreadable (TypeError)', 'failure'],
    [404, '', 'failure'],
  ])('status %i with error %j is a %s', (status, error, outcome) => {
    const doc = toDocument(event({ status, error }), ctx, new IndexNamer(ctx));
    expect(doc.source.outcome).toBe(outcome);
  });

  it('derives a deterministic, time-ordered UUIDv7 from (ts, seq, instance)', () => {
    const a = eventId(1_764_244_800_123, 7, instance);
    expect(a).toBe(eventId(1_764_244_800_123, 7, instance));
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(eventId(1_764_244_800_123, 8, instance) > a).toBe(true);
    expect(eventId(1_764_244_800_124, 0, instance) > a).toBe(true);
    expect(eventId(1_764_244_800_123, 7, Uint8Array.from([9, 9, 9, 9, 9, 9]))).not.toBe(a);
    expect(Number.parseInt(a.replaceAll('-', '').slice(0, 12), 16)).toBe(1_764_244_800_123);
  });

  it('gives the same id as the UUIDv7 layout written out byte by byte', () => {
    // The id is stored and compared across processes and versions (a replayed spool, a re-read
    // ring): the fast form must never drift from the layout the ARCHITECTURE describes.
    const reference = (ts: number, seq: number, inst: Uint8Array) => {
      const b = new Uint8Array(16);
      let t = Math.floor(ts);
      for (let i = 5; i >= 0; i--) {
        b[i] = t % 256;
        t = Math.floor(t / 256);
      }
      const [i0 = 0, i1 = 0, i2 = 0, i3 = 0, i4 = 0, i5 = 0] = inst;
      b.set([0x70 | (i0 & 0x0f), i1, 0x80 | (i2 & 0x3f), i3, i4, i5], 6);
      b.set([seq >>> 24, (seq >>> 16) & 255, (seq >>> 8) & 255, seq & 255], 12);
      const hex = Buffer.from(b).toString('hex');
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    };
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 2 ** 48 - 1, noNaN: true }),
        fc.nat({ max: 2 ** 32 - 1 }),
        fc.uint8Array({ minLength: 6, maxLength: 6 }),
        (ts, seq, inst) => eventId(ts, seq, inst) === reference(ts, seq, inst),
      ),
      { numRuns: 2000 },
    );
  });

  it('writes event times exactly as Date#toISOString does', () => {
    const edges = [
      0, 59_999, 60_000, 1_764_244_799_999.9, 1_764_244_800_000, 253_402_300_799_999, 253_402_300_800_000, -1,
      -86_400_001,
    ];
    for (const ts of edges) expect(isoTime(ts)).toBe(new Date(ts).toISOString());
    fc.assert(
      fc.property(fc.double({ min: -8.64e15, max: 8.64e15, noNaN: true }), (ts) => {
        return isoTime(ts) === new Date(ts).toISOString();
      }),
      { numRuns: 5000 },
    );
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

  it('bounds the JSON length of the sanitized copy from above, so a body under the bound is never one to truncate', () => {
    const sanitizer = new Sanitizer();
    const odd = fc.constantFrom<unknown>(
      new Date(0),
      12n,
      Uint8Array.from([1, 2]),
      4111111111111111,
      'password=hunter2',
      {
        password: 'x',
        __proto__: 1,
      },
    );
    fc.assert(
      fc.property(fc.oneof(jsonish, odd, fc.array(fc.oneof(jsonish, odd))), (value) => {
        const { value: copy, jsonBound } = sanitizer.sized(value);
        expect(jsonBound).toBeGreaterThanOrEqual((JSON.stringify(copy) ?? '').length);
        expect(copy).toEqual(sanitizer.value(value));
      }),
      { numRuns: 3000 },
    );
    const deep: Record<string, unknown> = {};
    let at = deep;
    for (let i = 0; i < 40; i++) at = at.next = { s: 'é\u0000"'.repeat(3) } as Record<string, unknown>;
    const { value: copy, jsonBound } = sanitizer.sized(deep);
    expect(jsonBound).toBeGreaterThanOrEqual(JSON.stringify(copy).length);
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
    phase: Phase.NONE,
    intentId: '',
    ...over,
  });
  const doc = (over: Partial<CapturedEvent>) => toDocument(bare(over), ctx, new IndexNamer(ctx)).source;

  it('stores and routes an event without an organization under the placeholder _none', () => {
    const full = toDocument(bare({ organizationId: '' }), ctx, new IndexNamer(ctx));
    expect(full.source.organization_id).toBe('_none');
    expect(full.routing).toBe('_none');
    const own = toDocument(bare({ organizationId: 'org-7' }), ctx, new IndexNamer(ctx));
    expect([own.source.organization_id, own.routing]).toEqual(['org-7', 'org-7']);
  });

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

describe('redaction gaps of issue #12', () => {
  const doc = (over: Partial<CapturedEvent>) =>
    toDocument(event({ query: '', ...over }), ctx, new IndexNamer(ctx)).source;
  const body = (text: string, contentType: string, truncated = false) =>
    doc({ bodyKind: BodyKind.BYTES, body: Buffer.from(text), contentType, bodyTruncated: truncated })
      .request_body;

  it('redacts by key in JSON cut at AUDIT_MAX_BODY_SIZE or invalid, not only by value pattern', () => {
    const text = `{"user":"ann","password_confirmation":"a","passwordConfirm":"b","secretKey":"c","pin":1234,"note":"${'x'.repeat(50)}`;
    expect(body(text, 'application/json', true)).toEqual({
      _unparsed: `{"user":"ann","password_confirmation":"${R}","passwordConfirm":"${R}","secretKey":"${R}","pin":${R},"note":"${'x'.repeat(50)}`,
      _note: 'truncated JSON',
    });
    expect(body("{'secretKey': 'c', pin: 1234, name: 'n'}", 'application/json')).toEqual({
      _unparsed: `{'secretKey': '${R}', pin: ${R}, name: 'n'}`,
      _note: 'invalid JSON',
    });
  });

  it('redacts XML and text bodies by key too', () => {
    expect(
      body(
        '<user><pin>1234</pin><password type="text"><![CDATA[h]]></password><id>7</id></user>',
        'text/xml',
      ),
    ).toBe(`<user><pin>${R}</pin><password type="text"><![CDATA[${R}]]></password><id>7</id></user>`);
    expect(body('passwordConfirm=hunter2&name=ann', 'text/plain')).toBe(`passwordConfirm=${R}&name=ann`);
  });

  it('redacts a 19-digit card sent as a JSON number, which JSON.parse rounds', () => {
    const card = '4111111111111111110'; // Luhn-valid; JSON.parse makes 4111111111111111000 of it
    expect(body(`{"card":${card},"amount":12.5,"id":1234567890123456789}`, 'application/json')).toEqual({
      card: R,
      amount: 12.5,
      id: Number('1234567890123456789'),
    });
  });

  it('parses the media type: json or xml in a parameter (a multipart boundary) is not the type', () => {
    const multipart =
      '------json-xml\r\nContent-Disposition: form-data; name="password"\r\n\r\nhunter2\r\n------json-xml--\r\n';
    const stored = body(multipart, 'multipart/form-data; boundary=----json-xml');
    expect(JSON.stringify(stored)).not.toContain('hunter2');
    expect(stored).toEqual({ _note: `binary multipart/form-data; boundary=----json-xml, 52 bytes` });
    // +json and +xml suffixes, parameters, case and spaces
    expect(body('{"password":"p","n":1}', 'application/vnd.api+json; charset=utf-8')).toEqual({
      password: R,
      n: 1,
    });
    expect(body('{"n":1}', ' Application/Problem+JSON ')).toEqual({ n: 1 });
    expect(body('<password>p</password>', 'application/soap+xml; action="x"')).toBe(
      `<password>${R}</password>`,
    );
    expect(body('{"n":1}', 'application/octet-stream; name="data.json"')).toEqual({
      _note: 'binary application/octet-stream; name="data.json", 52 bytes',
    });
  });

  const token = 'Xk3v9Qm2c7LrT0pWbq8ZfJ1y';
  const uuid = '3fa85f64-5717-4562-b3fc-2c963f66afa6';

  it.each([
    [`/password-reset/${token}`, `/password-reset/${R}`],
    [
      `/reset-password/${'9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'}`,
      `/reset-password/${R}`,
    ],
    [`/invite/${uuid}/accept`, `/invite/${R}/accept`],
    [`/invitations/inv8Kq2Zp/accept`, `/invitations/${R}/accept`],
    [`/auth/magic-link/${token}`, `/auth/magic-link/${R}`],
    [`/verify-email/abc123def456`, `/verify-email/${R}`],
    // Django: /reset/<uidb64>/<token>/
    ['/reset/MQ/c2x3ab-1f2e3d4c5b6a7f8e9d0c/', `/reset/MQ/${R}/`],
    // anywhere: 20+ characters of base64url with upper and lower case letters and digits
    [`/files/${token}/download`, `/files/${R}/download`],
    [`/hooks/T0AB12CD3/B0EF45GH6/${token}`, `/hooks/T0AB12CD3/B0EF45GH6/${R}`],
  ])('redacts the token segment of %s', (path, stored) => {
    expect(doc({ path, target: path, route: '' })).toMatchObject({ request_path: stored, target: stored });
  });

  it.each([
    '/policies/pol-123',
    `/policies/${uuid}`,
    `/policies/${uuid.toUpperCase()}`,
    '/users/42/orders/1001',
    '/orders/507f1f77bcf86cd799439011', // a MongoDB ObjectId
    '/runs/01ARZ3NDEKTSV4RRFFQ69G5FAV', // a ULID
    `/commits/${'a94a8fe5ccb19ba61c4c0873d391e987982fbbd3'}`, // a git commit
    '/docs/how-to-reset-your-password-2024',
    '/customers/cus_NffrFeUfNV2Hib',
    '/invite/accept',
    '/invites/123/resend',
    '/password-reset/request-new-link',
    '/reports/Quarterly-Report-Final',
    '/v2/api/organizations/org-000/members',
  ])('keeps %s', (path) => {
    expect(doc({ path, target: path, route: '' })).toMatchObject({ request_path: path, target: path });
  });

  it('redacts the token in a target derived from the route (prefix:value)', () => {
    expect(doc({ path: `/invites/${uuid}`, route: '/invites/:id', target: `invite:${uuid}` })).toMatchObject({
      request_path: `/invites/${R}`,
      target: `invite:${R}`,
    });
    expect(doc({ path: `/files/${token}`, route: '/files/:id', target: `file:${token}` }).target).toBe(
      `file:${R}`,
    );
    expect(
      doc({ path: `/policies/${uuid}`, route: '/policies/:id', target: `policy:${uuid}` }),
    ).toMatchObject({
      request_path: `/policies/${uuid}`,
      target: `policy:${uuid}`,
    });
  });

  it('redacts a route parameter named like a secret key, whatever its shape', () => {
    expect(doc({ path: '/verify/493817', route: '/verify/:code', target: 'verify:493817' })).toMatchObject({
      request_path: `/verify/${R}`,
      target: `verify:${R}`,
    });
    expect(
      doc({
        path: '/orgs/org-1/sessions/s%20one/revoke',
        route: '/orgs/:orgId/sessions/:sessionId/revoke',
        target: 'session:s one',
      }),
    ).toMatchObject({ request_path: `/orgs/org-1/sessions/${R}/revoke`, target: `session:${R}` });
    expect(
      doc({ path: '/orgs/org-1/members/m-2', route: '/orgs/:orgId/members/:memberId', target: 'member:m-2' }),
    ).toMatchObject({ request_path: '/orgs/org-1/members/m-2', target: 'member:m-2' });
  });
});
