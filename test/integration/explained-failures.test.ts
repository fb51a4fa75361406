import http from 'node:http';
import https from 'node:https';
import { type Audit, type CreateAuditOptions, createAudit } from '@pdaas/audit';
import { honoAudit } from '@pdaas/audit/hono';
import { Hono } from 'hono';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { tempDir, waitFor } from '../support/faults.js';
import { collectLogs, type LogLines } from '../support/logs.js';
import { eventsOf, testClient, testUrl, uniquePrefix } from '../support/opensearch.js';
import { closedPort, useCertsAndServers } from '../support/test-certs.js';

const node = new URL(testUrl());
const local = useCertsAndServers();
const { listen } = local;

/**
 * Forwards to the test node; with `credentials`, answers 401 as the security plugin does (text
 * body, WWW-Authenticate) to any other Basic auth, without forwarding.
 */
function nodeProxy(credentials?: { username: string; password: string }) {
  const counts = { refused: 0, forwarded: 0 };
  const expected =
    credentials &&
    `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
  const server = http.createServer((req, res) => {
    if (expected !== undefined && req.headers.authorization !== expected) {
      counts.refused++;
      req.resume();
      res.writeHead(401, {
        'content-type': 'text/plain',
        'www-authenticate': 'Basic realm="OpenSearch Security"',
      });
      res.end('Unauthorized');
      return;
    }
    counts.forwarded++;
    const up = http.request(
      { host: node.hostname, port: node.port, method: req.method, path: req.url, headers: req.headers },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  return { server, counts };
}

interface Run {
  audit: Audit;
  logs: LogLines;
  registry: Registry;
  spoolDir: string;
}

/** An Audit whose every batch of 5 events reaches the server (the breaker opens late or never). */
async function start(prefix: string, extra: CreateAuditOptions): Promise<Run> {
  const logs = collectLogs();
  const registry = new Registry();
  const spoolDir = tempDir(prefix);
  const audit = await createAudit({
    registry,
    logger: logs.logger,
    indexPrefix: prefix,
    indexShards: 1,
    indexReplicas: 0,
    batchSize: 5,
    flushIntervalSeconds: 0.1,
    retryAttempts: 0,
    breakerFailures: 1000,
    spoolDir,
    ...extra,
  });
  return { audit, logs, registry, spoolDir };
}

/** `n` audited requests through Hono's middleware, in-process. */
async function drive(audit: Audit, n: number, label: string): Promise<void> {
  const app = new Hono().use(honoAudit(audit)).get('/accounts/:id', (c) => c.json({ id: c.req.param('id') }));
  for (let i = 0; i < n; i++) {
    const res = await app.request(`/accounts/${label}-${i}`, { headers: { 'x-organization-id': 'org-x' } });
    await res.arrayBuffer();
  }
}

/** The `error` field of every line logged with `msg`. */
function errorsOf(logs: LogLines, level: string, msg: string): unknown[] {
  const head = `${level} ${msg} `;
  return logs.lines.filter((l) => l.startsWith(head)).map((l) => JSON.parse(l.slice(head.length)).error);
}

const failed = (logs: LogLines) => errorsOf(logs, 'warn', 'OpenSearch request failed');
const opened = (logs: LogLines) => errorsOf(logs, 'warn', 'Circuit breaker open: events are being spooled');

async function failedBulks(registry: Registry): Promise<number> {
  return Number(
    /audit_bulk_requests_total\{outcome="failure"\} (\d+)/.exec(await registry.metrics())?.[1] ?? 0,
  );
}

async function stored(prefix: string): Promise<number> {
  const client = testClient();
  await client.indices.refresh({ index: `${prefix}-*`, allow_no_indices: true });
  const res = await client.count({ index: eventsOf(prefix), allow_no_indices: true } as never);
  await client.close();
  return (res.body as unknown as { count: number }).count;
}

describe('OpenSearch failures are logged with their cause, once', () => {
  it('a wrong password: the refused user is named once for 20 failing batches; the right one is let through', async () => {
    const credentials = { username: 'audit_writer', password: 'right-password' };
    const proxy = nodeProxy(credentials);
    const port = await listen(proxy.server);
    const prefix = uniquePrefix('e401');
    const opensearch = { host: '127.0.0.1', port, username: 'audit_writer', timeoutSeconds: 5 };

    const wrong = await start(prefix, { opensearch: { ...opensearch, password: 'wrong-password' } });
    await drive(wrong.audit, 100, 'wrong');
    await waitFor('100 events spooled', () => wrong.audit.stats().spooled === 100);
    expect(await failedBulks(wrong.registry)).toBeGreaterThanOrEqual(20);
    const final = await wrong.audit.close();
    expect(final).toMatchObject({ captured: 100, indexed: 0, spooled: 100 });
    expect(proxy.counts.refused).toBeGreaterThanOrEqual(20);
    expect(failed(wrong.logs)).toEqual(['OpenSearch refused the credentials of user audit_writer (401)']);
    expect(wrong.logs.lines.join('\n')).not.toContain('wrong-password');

    // The same proxy lets the right password through to the node: the 401 was the password's doing.
    const right = await start(prefix, { opensearch: { ...opensearch, password: credentials.password } });
    await drive(right.audit, 10, 'right');
    await waitFor('10 events indexed', () => right.audit.stats().indexed === 10);
    await right.audit.close();
    expect(failed(right.logs)).toEqual([]);
    expect(await stored(prefix)).toBe(10);
  });

  it('a closed port: refused, said once; the breaker opens once however often its probe fails; then the spool replays', async () => {
    const port = await closedPort();
    const prefix = uniquePrefix('erefused');
    const run = await start(prefix, {
      opensearch: { host: '127.0.0.1', port, timeoutSeconds: 5 },
      breakerFailures: 1,
      breakerCooldownSeconds: 0.1,
    });
    await drive(run.audit, 100, 'down');
    await waitFor('100 events spooled', () => run.audit.stats().spooled === 100);
    // The probe (a replay of the spool, after each 0.1 s cooldown) keeps failing: still one line each.
    await waitFor('10 failed requests', async () => (await failedBulks(run.registry)) >= 10, 30_000);
    expect(failed(run.logs)).toEqual([`cannot connect to 127.0.0.1:${port} (ECONNREFUSED)`]);
    expect(opened(run.logs)).toEqual([`cannot connect to 127.0.0.1:${port} (ECONNREFUSED)`]);
    const open = run.logs.lines.find((l) => l.startsWith('warn Circuit breaker open'));
    expect(JSON.parse(open?.slice(open.indexOf('{')) ?? '{}')).toMatchObject({
      cause: 'ECONNREFUSED',
      spoolDir: run.spoolDir,
    });
    expect(run.logs.lines.some((l) => l.startsWith('info Spool replay started'))).toBe(false);

    // The node comes back on that port: the probe closes the breaker and the spool replays.
    await listen(nodeProxy().server, port);
    await waitFor('the spool replayed', () => run.audit.stats().spooled === 0);
    await waitFor('the replay said finished', () =>
      run.logs.lines.some((l) => l.startsWith('info Spool replay finished')),
    );
    const final = await run.audit.close();
    expect(final).toMatchObject({ captured: 100, indexed: 100, spooled: 0 });
    const order = [
      'info Circuit breaker closed',
      'info Spool replay started',
      'info Spool replay finished',
    ].map((head) => run.logs.lines.findIndex((l) => l.startsWith(head)));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    const finished = run.logs.lines[order[2] as number] as string;
    expect(JSON.parse(finished.slice(finished.indexOf('{')))).toMatchObject({ events: 100 });
    expect(run.logs.lines.filter((l) => l.startsWith('info Spool replay started'))).toHaveLength(1);
    expect(await stored(prefix)).toBe(100);
  });

  it('https against the plain-http node: says so, and which setting to change', async () => {
    const run = await start(uniquePrefix('enotssl'), {
      opensearch: { host: '127.0.0.1', port: Number(node.port), useSsl: true, timeoutSeconds: 5 },
    });
    await drive(run.audit, 100, 'tls');
    await waitFor('100 events spooled', () => run.audit.stats().spooled === 100);
    expect(await failedBulks(run.registry)).toBeGreaterThanOrEqual(20);
    await run.audit.close();
    expect(failed(run.logs)).toEqual([
      `the server at 127.0.0.1:${node.port} speaks plain http, not https; use an http:// URL (or AUDIT_OPENSEARCH_USE_SSL=false)`,
    ]);
  });

  it('http against an https server: says it speaks https', async () => {
    const tls = https.createServer({ key: local.certs().selfKey, cert: local.certs().selfCert }, (_, res) =>
      res.end('{}'),
    );
    const port = await listen(tls as unknown as http.Server);
    const run = await start(uniquePrefix('essl'), {
      opensearch: { host: '127.0.0.1', port, timeoutSeconds: 5 },
    });
    await drive(run.audit, 100, 'plain');
    await waitFor('100 events spooled', () => run.audit.stats().spooled === 100);
    expect(await failedBulks(run.registry)).toBeGreaterThanOrEqual(20);
    await run.audit.close();
    expect(failed(run.logs)).toEqual([
      `the server at 127.0.0.1:${port} speaks https; use an https:// URL (or AUDIT_OPENSEARCH_USE_SSL=true)`,
    ]);
  });
});
