// Secrets never stored: a corpus of secrets of every kind the sanitizer knows (by key and by value
// pattern, in JSON at any depth, forms, query strings, headers, text and XML bodies and the path)
// goes through the Hono example over real sockets three times: into the real node, into the spool
// of an Audit with no OpenSearch, and into the dead-letter file through a mapping conflict. Then
// every stored byte is searched: the indices (query_string and a raw dump of every _source), each
// spool segment and dead-letter file read raw, and the logs. No secret may appear anywhere, while
// the non-secret marker sent beside each secret must, so the test cannot pass by storing nothing.
import { randomBytes, randomInt } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Audit } from '@pdaas/audit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp } from '../../examples/traffic.js';
import { eventMappings } from '../../src/opensearch/template.js';
import { faultAudit, finish, settled } from '../support/faults.js';
import { eventsOf, testClient, testUrl, uniquePrefix } from '../support/opensearch.js';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const B64 = `${ALNUM}+/`;

function pick(chars: string, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += chars[randomInt(chars.length)];
  return s;
}
const b64url = (n: number) => randomBytes(n).toString('base64url');
const digits = (n: number) => pick('0123456789', n);

/** A Luhn-valid card number of `length` digits starting with `prefix`. */
function card(prefix: string, length: number): string {
  const body = prefix + digits(length - prefix.length - 1);
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return body + ((10 - (sum % 10)) % 10);
}
const grouped = (n: string, sep: string) => n.match(/.{1,4}/g)?.join(sep) ?? n;

function jwt(): string {
  const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: b64url(6) })).toString(
    'base64url',
  );
  const payload = Buffer.from(JSON.stringify({ sub: `user-${b64url(6)}`, iat: Date.now() })).toString(
    'base64url',
  );
  return `${header}.${payload}.${b64url(32)}`;
}

function pem(kind: string): { block: string; lines: string[] } {
  const lines = Array.from({ length: 5 }, () => randomBytes(48).toString('base64'));
  return {
    block: `-----BEGIN ${kind}PRIVATE KEY-----\n${lines.join('\n')}\n-----END ${kind}PRIVATE KEY-----`,
    lines,
  };
}

interface Case {
  name: string;
  /** Strings that must appear nowhere (each secret, in every form it could be stored in). */
  secrets: string[];
  method: string;
  path: string;
  headers?: Record<string, string>;
  contentType?: string;
  body?: string;
}

/** Builds the corpus; `marker(n)` is the non-secret text each request carries beside its secret. */
function corpus(marker: (n: number) => string): Case[] {
  const cases: Case[] = [];
  const add = (c: Omit<Case, 'path'> & { path?: string }, build: (m: string) => Partial<Case>) => {
    const m = marker(cases.length);
    cases.push({ path: '/policies', ...c, ...build(m) });
  };
  const json = (value: unknown) => ({ contentType: 'application/json', body: JSON.stringify(value) });

  // ---- by value pattern, in JSON values under harmless keys ----
  const j1 = jwt();
  add({ name: 'JWT in a JSON value', secrets: [j1], method: 'POST' }, (m) =>
    json({ name: m, note: `session was ${j1} yesterday` }),
  );
  const j2 = jwt();
  add({ name: 'JWT in the path', secrets: [j2], method: 'GET' }, (m) => ({ path: `/policies/${j2}?n=${m}` }));
  const j3 = jwt();
  add({ name: 'JWT as a query key', secrets: [j3], method: 'GET' }, (m) => ({
    path: `/policies?n=${m}&${j3}`,
  }));
  const bearer = `${b64url(24)}.${b64url(12)}`;
  add({ name: 'Bearer credential in a JSON string', secrets: [bearer], method: 'POST' }, (m) =>
    json({ name: m, upstream: { header: `Bearer ${bearer}` } }),
  );
  const basicPw = `pw-${pick(ALNUM, 18)}`;
  const basic = Buffer.from(`svc-user:${basicPw}`).toString('base64');
  add({ name: 'Basic credential in a text body', secrets: [basic, basicPw], method: 'POST' }, (m) => ({
    path: '/policies/p1/evaluate',
    contentType: 'text/plain',
    body: `${m}\nforwarded: Basic ${basic}\n`,
  }));
  const akid = `AKIA${pick(UPPER_ALNUM, 16)}`;
  add({ name: 'AWS access key id in a JSON array', secrets: [akid], method: 'POST' }, (m) =>
    json({ name: m, keys: ['k1', akid] }),
  );
  const asia = `ASIA${pick(UPPER_ALNUM, 16)}`;
  add({ name: 'AWS session key id in a query value', secrets: [asia], method: 'GET' }, (m) => ({
    path: `/policies?n=${m}&id=${asia}`,
  }));
  const awsSecret = pick(B64, 40);
  add({ name: 'labelled AWS secret in a text body', secrets: [awsSecret], method: 'POST' }, (m) => ({
    path: '/policies/p2/evaluate',
    contentType: 'text/plain; charset=utf-8',
    body: `${m}\n[default]\naws_secret_access_key = ${awsSecret}\n`,
  }));
  const pem1 = pem('RSA ');
  add({ name: 'PEM key in a JSON value', secrets: pem1.lines, method: 'POST' }, (m) =>
    json({ name: m, material: pem1.block }),
  );
  const pem2 = pem('');
  add({ name: 'PEM key in a text body', secrets: pem2.lines, method: 'POST' }, (m) => ({
    path: '/policies/p3/evaluate',
    contentType: 'text/plain',
    body: `${m}\n${pem2.block}\n`,
  }));
  const visa = card('4', 16);
  add({ name: 'card number in a JSON value', secrets: [visa], method: 'POST' }, (m) =>
    json({ name: m, payment: { ref: `card ${visa}` } }),
  );
  const mc = card('51', 16);
  add({ name: 'card number in groups, text body', secrets: [mc, grouped(mc, ' ')], method: 'POST' }, (m) => ({
    path: '/policies/p4/evaluate',
    contentType: 'text/plain',
    body: `${m} pay with ${grouped(mc, ' ')} today`,
  }));
  const disc = card('6011', 16);
  add(
    { name: 'card number with dashes, form body', secrets: [disc, grouped(disc, '-')], method: 'POST' },
    (m) => ({
      path: '/policies/p5/evaluate',
      contentType: 'application/x-www-form-urlencoded',
      body: `name=${m}&note=${grouped(disc, '-')}`,
    }),
  );
  const amex = card('37', 15);
  add({ name: 'Amex number as a JSON number', secrets: [amex], method: 'POST' }, (m) => ({
    contentType: 'application/json',
    body: `{"name":"${m}","ref":${amex}}`,
  }));
  const gh = `ghp_${pick(ALNUM, 36)}`;
  add({ name: 'GitHub token in a query value', secrets: [gh], method: 'GET' }, (m) => ({
    path: `/policies?n=${m}&note=${gh}`,
  }));
  const slack = `xoxb-${digits(12)}-${digits(13)}-${pick(ALNUM, 24)}`;
  add({ name: 'Slack token deep in JSON', secrets: [slack], method: 'POST' }, (m) =>
    json({ name: m, integrations: [{ slack: { hooks: [{ value: slack }] } }] }),
  );
  const stripe = `sk_live_${pick(ALNUM, 24)}`;
  add({ name: 'Stripe key in a form body', secrets: [stripe], method: 'POST' }, (m) => ({
    path: '/policies/p6/evaluate',
    contentType: 'application/x-www-form-urlencoded',
    body: `name=${m}&billing=${stripe}`,
  }));
  const google = `AIza${pick(`${ALNUM}_-`, 35)}`;
  add({ name: 'Google API key in a query value', secrets: [google], method: 'GET' }, (m) => ({
    path: `/policies?n=${m}&key=${google}`,
  }));
  const freePw = `fp-${pick(ALNUM, 20)}`;
  add({ name: 'password= in a text body', secrets: [freePw], method: 'POST' }, (m) => ({
    path: '/policies/p7/evaluate',
    contentType: 'text/plain',
    body: `${m} login with password=${freePw} please`,
  }));
  const uaToken = `ua-${pick(ALNUM, 24)}`;
  add({ name: 'token= in the user agent', secrets: [uaToken], method: 'GET' }, (m) => ({
    path: `/policies?n=${m}`,
    headers: { 'user-agent': `secrets-test/1.0 token=${uaToken}` },
  }));
  const xmlPw = `xp-${pick(ALNUM, 20)}`;
  add({ name: 'password element in an XML body', secrets: [xmlPw], method: 'POST' }, (m) => ({
    path: '/policies/p8/evaluate',
    contentType: 'application/xml',
    body: `<login><user>${m}</user><password>${xmlPw}</password></login>`,
  }));
  const pathPw = `pp-${pick(ALNUM, 20)}`;
  add({ name: 'token= in an unmatched path', secrets: [pathPw], method: 'GET' }, (m) => ({
    path: `/files/token=${pathPw}/x?n=${m}`,
  }));

  // ---- by key, at every depth, in arrays, mixed case ----
  const keyed: Array<[string, (secret: string) => unknown]> = [
    ['password at the top', (s) => ({ password: s })],
    ['mixed-case PassWord', (s) => ({ PassWord: s })],
    ['db_password compound', (s) => ({ config: { db_password: s } })],
    ['token at depth 3', (s) => ({ a: { b: { token: s } } })],
    ['api_key in an array of objects', (s) => ({ keys: [{ id: 1 }, { api_key: s }] })],
    ['client_secret at depth 5 in arrays', (s) => ({ a: [{ b: [{ c: { d: [{ client_secret: s }] } }] }] })],
    ['ssn', (s) => ({ person: { ssn: s } })],
    ['access_token and refresh_token', (s) => ({ oauth: { access_token: s, refresh_token: `${s}-r` } })],
    ['X-Api-Key as a JSON key', (s) => ({ headers: { 'X-Api-Key': s } })],
    ['Set-Cookie as a JSON key', (s) => ({ headers: { 'Set-Cookie': [`sid=${s}; HttpOnly`] } })],
    ['private_key', (s) => ({ tls: { private_key: s } })],
    ['aws_secret_access_key as a key', (s) => ({ aws: { aws_secret_access_key: s } })],
    ['cvv and card_number', (s) => ({ card: { card_number: `${s}-n`, cvv: s } })],
    ['authorization as a JSON key', (s) => ({ upstream: { Authorization: `Token ${s}` } })],
  ];
  for (const [name, shape] of keyed) {
    const secret = `k-${pick(ALNUM, 22)}`;
    add({ name: `key: ${name}`, secrets: [secret], method: 'POST' }, (m) =>
      json({ name: m, ...(shape(secret) as object) }),
    );
  }
  const loginPw = `lp-${pick(ALNUM, 20)}`;
  add({ name: 'login password', secrets: [loginPw], method: 'POST' }, (m) => ({
    path: '/authentication/login',
    ...json({ username: m, password: loginPw }),
  }));
  for (const param of ['token', 'api_key', 'password', 'access_token']) {
    const secret = `q-${pick(ALNUM, 22)}`;
    add({ name: `query ?${param}=`, secrets: [secret], method: 'GET' }, (m) => ({
      path: `/policies?n=${m}&${param}=${secret}`,
    }));
  }
  const formPw = `f-${pick(ALNUM, 22)}`;
  add({ name: 'password in a form body', secrets: [formPw], method: 'POST' }, (m) => ({
    path: '/policies/p9/evaluate',
    contentType: 'application/x-www-form-urlencoded',
    body: `name=${m}&Password=${formPw}`,
  }));

  // ---- headers: never stored at all ----
  const authHeader = b64url(30);
  const cookie = b64url(24);
  add({ name: 'Authorization and Cookie headers', secrets: [authHeader, cookie], method: 'GET' }, (m) => ({
    path: `/policies?n=${m}`,
    headers: { authorization: `Bearer ${authHeader}`, cookie: `session=${cookie}; theme=dark` },
  }));
  const basicHeaderPw = `bh-${pick(ALNUM, 20)}`;
  const basicHeader = Buffer.from(`admin:${basicHeaderPw}`).toString('base64');
  add(
    { name: 'Basic Authorization header', secrets: [basicHeader, basicHeaderPw], method: 'DELETE' },
    (m) => ({
      path: `/policies/p10?n=${m}`,
      headers: { authorization: `Basic ${basicHeader}` },
    }),
  );
  return cases;
}

const client = testClient();
const base = uniquePrefix('secrets');
const runId = randomBytes(4).toString('hex');
/** Ends in `-k` so that marker 1 is not a prefix of marker 10. */
const marker = (n: number) => `keep-${runId}-${n}-k`;
const cases = corpus(marker);
const needles = [...new Set(cases.flatMap((c) => c.secrets))];
const markers = cases.map((_, n) => marker(n));
const today = new Date().toISOString().slice(0, 10);

async function send(url: string, phase: string): Promise<void> {
  for (const [n, c] of cases.entries()) {
    const res = await fetch(url + c.path, {
      method: c.method,
      headers: {
        'x-organization-id': 'org-secrets',
        'x-actor-id': 'actor-secrets',
        'x-actor-type': 'user',
        'x-request-id': `${base}-${phase}-${n}`,
        'user-agent': 'secrets-test/1.0',
        ...(c.contentType && { 'content-type': c.contentType }),
        ...c.headers,
      },
      ...(c.body !== undefined && { body: c.body }),
    });
    await res.arrayBuffer();
    expect(res.status, `${c.name}: ${c.method} ${c.path}`).toBeLessThan(500);
  }
}

/** Every file under `dir`, read as raw bytes. */
function rawFiles(dir: string): Array<[string, Buffer]> {
  const out: Array<[string, Buffer]> = [];
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const path = join(dir, entry);
    if (statSync(path).isFile()) out.push([path, readFileSync(path)]);
  }
  return out;
}

/** No secret in `haystack`. */
function expectClean(what: string, haystack: Buffer | string): void {
  const text = typeof haystack === 'string' ? haystack : haystack.toString('latin1');
  const leaked = needles.filter((s) => text.includes(s));
  expect(leaked, `${what} holds secrets`).toEqual([]);
}

function expectAllMarkers(what: string, haystack: string): void {
  const missing = markers.filter((m) => !haystack.includes(m));
  expect(missing, `${what} lacks the non-secret part of some requests`).toEqual([]);
}

describe('secrets never reach OpenSearch, the spool, the dead-letter file or the logs', () => {
  let indexed: { audit: Audit; logs: string[] };
  let spooled: { audit: Audit; logs: string[]; dir: string };
  let dead: { audit: Audit; logs: string[]; dir: string };

  beforeAll(async () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);

    // 1. Into the node.
    {
      const { audit, logs, registry } = await faultAudit(base, testUrl(), { serviceName: 'api' });
      const app = await startApp('hono', audit);
      await send(app.url, 'os');
      const { final } = await finish(app, audit, registry);
      expect(final.indexed).toBe(cases.length);
      indexed = { audit, logs: logs.lines };
    }
    // 2. No OpenSearch: everything goes to the spool and stays there.
    {
      const { audit, logs } = await faultAudit(`${base}sp`, undefined);
      const app = await startApp('hono', audit);
      await send(app.url, 'spool');
      await app.close();
      const final = await audit.close();
      expect(final.spooled).toBe(cases.length);
      spooled = { audit, logs: logs.lines, dir: audit.config.spoolDir };
    }
    // 3. A mapping conflict: today's index has user_agent mapped as an integer, so OpenSearch
    //    refuses every event and each lands in the dead-letter file, with the node's reason.
    {
      await client.indices.create({
        index: `${base}-dl-${today}`,
        body: {
          settings: { number_of_shards: 1, number_of_replicas: 0 },
          mappings: {
            ...eventMappings,
            properties: { ...eventMappings.properties, user_agent: { type: 'integer' } },
          },
        } as never,
      });
      const { audit, logs } = await faultAudit(base, testUrl(), { serviceName: 'dl' });
      const app = await startApp('hono', audit);
      await send(app.url, 'dl');
      await app.close();
      await settled(audit);
      const final = await audit.close();
      expect(final.deadLettered).toBe(cases.length);
      dead = { audit, logs: logs.lines, dir: audit.config.spoolDir };
    }
    await client.indices.refresh({ index: `${base}-*` });
  });

  afterAll(async () => {
    await client.indices.delete({ index: `${base}-*` }).catch(() => undefined);
  });

  it(`covers ${cases.length} kinds of secrets`, () => {
    expect(needles.length).toBeGreaterThanOrEqual(cases.length);
    console.log(`secrets corpus: ${cases.length} requests, ${needles.length} secret strings`);
  });

  it('the indices hold every request, its non-secret parts, and no secret', async () => {
    const res = await client.search({
      index: eventsOf(base),
      body: { size: 1000, track_total_hits: true, query: { match_all: {} } },
    });
    const hits = res.body.hits.hits as Array<{ _index: string; _source: Record<string, unknown> }>;
    expect(hits).toHaveLength(cases.length);
    expect(new Set(hits.map((h) => h._index))).toEqual(new Set([`${base}-api-${today}`]));
    const dump = JSON.stringify(hits.map((h) => h._source));
    expectClean('the _source dump', dump);
    expectAllMarkers('the _source dump', dump);
    expect(dump).toContain('[REDACTED]');

    // Field by field for a few: the secret part is replaced, the rest kept.
    const byRequest = new Map(hits.map((h) => [h._source.request_id as string, h._source]));
    const doc = (name: string) => {
      const n = cases.findIndex((c) => c.name === name);
      return byRequest.get(`${base}-os-${n}`) as Record<string, unknown>;
    };
    expect(doc('JWT in the path')).toMatchObject({
      request_path: '/policies/[REDACTED]',
      target: 'policy:[REDACTED]',
    });
    expect(doc('password= in a text body').request_body).toBe(
      `${marker(cases.findIndex((c) => c.name === 'password= in a text body'))} login with password=[REDACTED] please`,
    );
    expect(doc('key: client_secret at depth 5 in arrays').request_body).toMatchObject({
      a: [{ b: [{ c: { d: [{ client_secret: '[REDACTED]' }] } }] }],
    });
    expect(doc('query ?token=').request_query).toMatchObject({ token: '[REDACTED]' });
    expect(doc('token= in the user agent').user_agent).toBe('secrets-test/1.0 token=[REDACTED]');

    // query_string over every field, each secret as a phrase and as a wildcard on keyword fields.
    for (const secret of needles) {
      const phrase = await client.search({ index: `${base}-*`, q: `"${secret}"`, lenient: true });
      expect(phrase.body.hits.hits, `q="${secret}"`).toEqual([]);
    }
    for (const field of ['request_path', 'target', 'user_agent']) {
      for (const secret of needles.filter((s) => /^[A-Za-z0-9_-]+$/.test(s))) {
        const term = secret.replaceAll('-', '\\-');
        const wild = await client.search({ index: `${base}-*`, q: `${field}:*${term}*` });
        expect(wild.body.hits.hits, `${field}:*${secret}*`).toEqual([]);
      }
    }
  });

  it('the spool segments, read raw, hold every request and no secret', () => {
    const files = rawFiles(spooled.dir);
    expect(files.some(([path]) => path.endsWith('.seg'))).toBe(true);
    const all = Buffer.concat(files.map(([, b]) => b)).toString('latin1');
    for (const [path, bytes] of files) expectClean(path, bytes);
    expectAllMarkers('the spool', all);
    expect(all).toContain('[REDACTED]');
  });

  it('the dead-letter file, read raw, holds every request with the node reason and no secret', () => {
    const files = rawFiles(join(dead.dir, 'dead-letter'));
    expect(files.length).toBeGreaterThan(0);
    const all = Buffer.concat(files.map(([, b]) => b)).toString('latin1');
    for (const [path, bytes] of files) expectClean(path, bytes);
    const lines = all.trim().split('\n');
    expect(lines).toHaveLength(cases.length);
    const first = JSON.parse(lines[0] as string) as { error: string; reason: string };
    expect(first.error).toBe('mapper_parsing_exception');
    expect(first.reason).toContain('user_agent');
    expectAllMarkers('the dead-letter file', all);
    // Every other file under the spool directory too.
    for (const [path, bytes] of rawFiles(dead.dir)) expectClean(path, bytes);
  });

  it('the logs hold no secret', () => {
    for (const [what, lines] of [
      ['indexing', indexed.logs],
      ['spooling', spooled.logs],
      ['dead-lettering', dead.logs],
    ] as const) {
      expect(lines.length).toBeGreaterThan(0);
      expectClean(`the ${what} logs`, lines.join('\n'));
    }
  });
});
