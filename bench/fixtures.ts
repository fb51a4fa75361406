// The events the benchmarks feed the pipeline: a GET without a body and a POST with about 1 KB of
// JSON, with ids, times and organizations varied by a counter as real traffic varies them.
import { BodyKind, type CapturedEvent, Phase } from '../src/event.js';

/** Organizations the events are spread over (org-000 … org-099). */
export const ORGS = 100;

/** `digits` pseudo-random hex digits from n (splitmix32): the entropy of real trace and request ids. */
function hex(n: number, digits: number): string {
  let out = '';
  let x = n;
  while (out.length < digits) {
    x = (x + 0x9e3779b9) | 0;
    let z = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    out += ((z ^ (z >>> 16)) >>> 0).toString(16).padStart(8, '0');
  }
  return out.slice(0, digits);
}

export function getEvent(n: number): CapturedEvent {
  const org = `org-${String(n % ORGS).padStart(3, '0')}`;
  return {
    ts: Date.now(),
    seq: n,
    method: 'GET',
    path: `/policies/pol-${n}`,
    query: n % 4 === 0 ? `page=${n % 10}&limit=50` : '',
    route: '/policies/:id',
    status: 200,
    durationMs: 0.42 + (n % 100) / 100,
    actorId: `user-${n % 7}`,
    actorType: 'user',
    organizationId: org,
    accountId: `acc-${n % 13}`,
    action: 'policies.read',
    target: `policy:pol-${n}`,
    traceId: hex(n, 32),
    requestId: hex(~n, 32).replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-'),
    clientIp: '10.1.2.3',
    userAgent:
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
    contentType: '',
    bodyKind: BodyKind.NONE,
    body: null,
    bodySize: -1,
    bodyTruncated: false,
    error: '',
    phase: Phase.NONE,
    intentId: '',
  };
}

/** About 1 KB of JSON with nested objects, an array, a secret key and a secret inside a string. */
export function postBody(n: number): Record<string, unknown> {
  const org = `org-${String(n % ORGS).padStart(3, '0')}`;
  return {
    name: `policy-${n}`,
    description: 'Lets the billing team read invoices and export the monthly reports to the ERP system.',
    owner: { id: `user-${n % 7}`, email: `user-${n % 7}@example.com`, team: 'billing' },
    rules: [
      { effect: 'allow', actions: ['invoices:read', 'invoices:list'], resources: [`${org}/invoices/*`] },
      {
        effect: 'allow',
        actions: ['reports:export'],
        resources: [`${org}/reports/monthly`],
        conditions: { ipRange: '10.0.0.0/8', mfa: true, maxAgeDays: 30 },
      },
      { effect: 'deny', actions: ['invoices:delete', 'invoices:void'], resources: ['*'] },
    ],
    integration: {
      endpoint: 'https://erp.example.com/api/v2/sync',
      username: 'svc-billing',
      password: `pw-${n}-Tr0ub4dor&3`,
      retries: 3,
      timeoutMs: 2500,
    },
    tags: ['finance', 'billing', 'monthly', 'export', `batch-${n % 31}`],
    note: `Rotated after INC-${n}; the old client sent Authorization: Bearer ghp_${'a1B2'.repeat(9)}`,
    enabled: true,
    priority: n % 5,
  };
}

export function postEvent(n: number): CapturedEvent {
  const body = postBody(n);
  return {
    ...getEvent(n),
    method: 'POST',
    path: '/policies',
    query: '',
    route: '/policies',
    status: 201,
    action: 'policies.create',
    target: 'policies',
    contentType: 'application/json',
    // What Hono's c.req.json() and Express's express.json() leave: the parsed value.
    bodyKind: BodyKind.VALUE,
    body,
    bodySize: JSON.stringify(body).length,
  };
}

export const eventAt = (n: number): CapturedEvent => (n % 2 === 0 ? getEvent(n) : postEvent(n));

/** The 1 KB POST as raw bytes, as an adapter captures a body the handler did not parse. */
export function postBytesEvent(n: number, bytes: Buffer): CapturedEvent {
  return { ...postEvent(n), bodyKind: BodyKind.BYTES, body: bytes, bodySize: bytes.length };
}
