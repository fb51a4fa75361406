// AUDIT_FAILURE_MODE=closed and durable routes, against real faults: OpenSearch unreachable with the
// spool on a full disk (a size-limited tmpfs), answers held by a proxy past the durable timeout,
// and a process killed with SIGKILL inside a durable handler.
import { closeSync, mkdirSync, openSync, unlinkSync, writeSync } from 'node:fs';
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createReader } from '@pdaas/audit';
import { expressAudit, auditAs as expressAuditAs } from '@pdaas/audit/express';
import { auditAs, honoAudit } from '@pdaas/audit/hono';
import express from 'express';
import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import { storedEvents } from '../../../scripts/opensearch/stored.js';
import { exited, tsx } from '../../support/child.js';
import { pdaas } from '../../support/cli.js';
import { startFaultProxy } from '../../support/fault-proxy.js';
import { faultAudit, settled, tempDir, waitFor } from '../../support/faults.js';
import { internals } from '../../support/internals.js';
import { tmpfs } from '../../support/mounts.js';
import { eventsOf, testClient, testUrl, uniquePrefix } from '../../support/opensearch.js';
import { closedPort } from '../../support/test-certs.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A spool folder on its own tmpfs of `mib` MiB (a real full disk once filled), unmounted after the test. */
function spoolOnTmpfs(prefix: string, mib: number): string {
  const spoolDir = join(tempDir(prefix), 'spool');
  mkdirSync(spoolDir);
  cleanups.push(tmpfs(spoolDir, mib * 1024 * 1024));
  return spoolDir;
}

/** OpenSearch's port with nothing listening: a stopped node, as the client sees it. */
async function stoppedNode(): Promise<string> {
  return `http://127.0.0.1:${await closedPort()}`;
}

/** Fills the volume at `dir` with one file until it refuses (ENOSPC); returns the file. */
function fillVolume(dir: string): string {
  const file = join(dir, 'filler');
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  return file;
}

function metric(text: string, name: string): number {
  const escaped = name.replace(/[{}"=]/g, (c) => `\\${c}`);
  return Number(new RegExp(`^${escaped} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
}

/** The stored documents of a prefix, refreshed first. */
async function stored(prefix: string): Promise<Record<string, unknown>[]> {
  const client = testClient();
  try {
    await client.indices.refresh({ index: eventsOf(prefix) });
    const res = await client.search({
      index: eventsOf(prefix),
      body: { size: 1000, query: { match_all: {} } },
    });
    return (res.body as { hits: { hits: { _source: Record<string, unknown> }[] } }).hits.hits.map(
      (h) => h._source,
    );
  } finally {
    await client.close();
  }
}

/** Whether the document `id` of `prefix` is in OpenSearch now (a realtime GET: no refresh needed). */
async function inOpenSearch(prefix: string, id: string, org: string): Promise<boolean> {
  const client = testClient();
  try {
    const { body } = await client.indices.get({ index: eventsOf(prefix) }, { ignore: [404] });
    for (const index of Object.keys(body ?? {})) {
      if (!index.startsWith(prefix)) continue;
      const got = await client.get({ index, id, routing: org }, { ignore: [404] });
      if ((got.body as { found?: boolean }).found) return true;
    }
    return false;
  } finally {
    await client.close();
  }
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The completion and intent of each request, checked against each other. */
function expectPairs(docs: Record<string, unknown>[], requests: number): void {
  const intents = docs.filter((d) => d.phase === 'received');
  const completions = docs.filter((d) => d.phase === 'completed');
  expect(intents).toHaveLength(requests);
  expect(completions).toHaveLength(requests);
  for (const intent of intents) {
    const done = completions.find((d) => d.intent_id === intent.event_id);
    expect(done, `a completion names intent ${String(intent.event_id)}`).toBeDefined();
    expect(done?.request_id).toBe(intent.request_id);
    expect(intent.response_status_code).toBeUndefined();
    expect(intent.outcome).toBeUndefined();
  }
}

describe('AUDIT_FAILURE_MODE=closed', () => {
  it('OpenSearch down and the spool on a full disk: every request 503 before its handler; once there is room, requests pass', async () => {
    const prefix = uniquePrefix('closed');
    const spoolDir = spoolOnTmpfs(prefix, 8);
    const down = await stoppedNode();
    const { audit, registry, logs } = await faultAudit(prefix, down, { failureMode: 'closed', spoolDir });
    cleanups.push(() => audit.close().catch(() => undefined));
    let sideEffects = 0;
    const app = new Hono();
    app.use(honoAudit(audit));
    app.post('/transfers', (c) => {
      sideEffects++;
      return c.json({ ok: true }, 201);
    });
    const post = (n: number) =>
      app.request('/transfers', {
        method: 'POST',
        headers: { 'x-organization-id': 'org-1', 'x-request-id': `${prefix}-${n}` },
      });

    // The spool is writable: requests pass, their events go to the spool (OpenSearch is down).
    await waitFor(
      'the worker to find the spool writable',
      () => internals(audit).admission() === undefined,
      10_000,
    );
    expect((await post(0)).status).toBe(201);
    // Its event reaches the spool before the disk fills (one admitted earlier could still be lost,
    // and counted: admission answers for the moment of the request).
    await waitFor('the first event to be spooled', () => audit.stats().spooled === 1, 10_000);
    const filler = fillVolume(spoolDir);
    await waitFor(
      'the worker to see the spool full',
      () => internals(audit).admission() === 'spool_full',
      10_000,
    );

    for (let n = 1; n <= 30; n++) {
      const res = await post(n);
      expect(res.status).toBe(503);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(await res.json()).toMatchObject({
        error: { code: 'AUDIT_ERR_UNAVAILABLE', reason: 'spool_full' },
      });
    }
    expect(sideEffects, 'no handler ran while events could not be kept').toBe(1);
    const metrics = await registry.metrics();
    expect(metric(metrics, 'audit_requests_refused_total{reason="spool_full"}')).toBe(30);
    expect(logs.lines.filter((l) => l.includes('Audit refused requests'))).toHaveLength(1);

    // Room again: without a restart, requests pass once the worker's probe sees it.
    unlinkSync(filler);
    await waitFor('requests to pass again', async () => (await post(100)).status === 201, 10_000);
    for (let n = 101; n <= 110; n++) expect((await post(n)).status).toBe(201);
    expect(sideEffects).toBe(12);
    await waitFor('every event to reach the spool', () => audit.stats().inFlight === 0, 30_000);
    const final = await audit.close();
    // Every request that ran has its event, in the spool; none was dropped.
    expect(final.captured, JSON.stringify(final)).toBe(12);
    expect(final.spooled, JSON.stringify(final)).toBe(12);
    expect(final.dropped.total).toBe(0);
  });

  it('Express: the same refusal before the handler, with Retry-After and the coded body', async () => {
    const prefix = uniquePrefix('closed-express');
    const spoolDir = spoolOnTmpfs(prefix, 4);
    const down = await stoppedNode();
    const { audit, registry } = await faultAudit(prefix, down, { failureMode: 'closed', spoolDir });
    cleanups.push(() => audit.close().catch(() => undefined));
    fillVolume(spoolDir);
    await waitFor(
      'the worker to see neither path',
      () => internals(audit).admission() === 'spool_full',
      10_000,
    );
    let ran = 0;
    const app = express();
    app.use(express.json());
    app.use(expressAudit(audit));
    app.post('/transfers', (_req, res) => {
      ran++;
      res.status(201).json({ ok: true });
    });
    const url = await listen(http.createServer(app));
    for (let n = 0; n < 5; n++) {
      const res = await fetch(`${url}/transfers`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-organization-id': 'org-1' },
        body: JSON.stringify({ amount: n }),
      });
      expect(res.status).toBe(503);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(await res.json()).toMatchObject({
        error: { code: 'AUDIT_ERR_UNAVAILABLE', reason: 'spool_full' },
      });
    }
    expect(ran).toBe(0);
    expect(metric(await registry.metrics(), 'audit_requests_refused_total{reason="spool_full"}')).toBe(5);
    const final = await audit.close();
    // Refused requests are not events: nothing captured, nothing dropped.
    expect(final.captured).toBe(0);
    expect(final.dropped.total).toBe(0);
  });

  it('OpenSearch up and the spool on a full disk: requests pass, their events go to OpenSearch', async () => {
    const prefix = uniquePrefix('closed-up');
    const spoolDir = spoolOnTmpfs(prefix, 4);
    fillVolume(spoolDir);
    // The writer role may read the cluster's health (not GET /): the probe asks that.
    const { audit } = await faultAudit(prefix, testUrl(), { failureMode: 'closed', spoolDir });
    cleanups.push(() => audit.close().catch(() => undefined));
    await waitFor('the worker to find OpenSearch', () => internals(audit).admission() === undefined, 10_000);
    const app = new Hono();
    app.use(honoAudit(audit));
    app.post('/transfers', (c) => c.json({ ok: true }, 201));
    for (let n = 0; n < 5; n++) {
      const res = await app.request('/transfers', {
        method: 'POST',
        headers: { 'x-organization-id': 'org-2', 'x-request-id': `${prefix}-${n}` },
      });
      expect(res.status).toBe(201);
    }
    await settled(audit, 30_000);
    const final = await audit.close();
    expect(final).toMatchObject({ captured: 5, indexed: 5, dropped: { total: 0 } });
  });

  it("open mode (the default) asks nothing before the handler and keeps today's behaviour", async () => {
    const prefix = uniquePrefix('open');
    const { audit } = await faultAudit(prefix, undefined);
    cleanups.push(() => audit.close().catch(() => undefined));
    expect(audit.failClosed).toBe(false);
    const app = new Hono();
    app.use(honoAudit(audit));
    app.get('/x', (c) => c.text('ok'));
    expect((await app.request('/x')).status).toBe(200);
  });
});

describe('durable routes', () => {
  it('Hono, auditAs({ durable: true }): the intent is in OpenSearch before the handler runs; the completion names it', async () => {
    const prefix = uniquePrefix('durable-hono');
    const { audit } = await faultAudit(prefix, testUrl());
    cleanups.push(() => audit.close().catch(() => undefined));
    const seen: boolean[] = [];
    const app = new Hono();
    app.use(honoAudit(audit));
    app.post('/transfers/:id', auditAs({ action: 'transfers.execute', durable: true }), async (c) => {
      seen.push(await inOpenSearch(prefix, c.get('auditIntent') ?? '', 'org-7'));
      return c.json({ ok: true });
    });
    for (let n = 0; n < 5; n++) {
      const res = await app.request(`/transfers/t-${n}`, {
        method: 'POST',
        headers: { 'x-organization-id': 'org-7', 'x-actor-id': 'alice', 'x-request-id': `${prefix}-${n}` },
      });
      expect(res.status).toBe(200);
    }
    expect(seen).toEqual([true, true, true, true, true]);
    await settled(audit, 30_000);
    await audit.close();
    const docs = await stored(prefix);
    expectPairs(docs, 5);
    const intent = docs.find((d) => d.phase === 'received' && d.request_id === `${prefix}-0`);
    expect(intent).toMatchObject({
      action: 'transfers.execute',
      target: 'transfer:t-0',
      actor_id: 'alice',
      organization_id: 'org-7',
      route: '/transfers/:id',
    });
    const reader = createReader({ organizationId: 'org-7', indexPrefix: prefix, client: testClient() });
    expect(await reader.unfinishedIntents()).toEqual([]);
  });

  it('Hono, a durable route under a durable path: one intent per request, named by the completion', async () => {
    const prefix = uniquePrefix('durable-both');
    const { audit } = await faultAudit(prefix, testUrl(), { durablePaths: ['/transfers/*'] });
    cleanups.push(() => audit.close().catch(() => undefined));
    const app = new Hono();
    app.use(honoAudit(audit));
    app.post('/transfers/:id', auditAs({ durable: true }), (c) => c.json({ intent: c.get('auditIntent') }));
    for (let n = 0; n < 3; n++) {
      const res = await app.request(`/transfers/t-${n}`, {
        method: 'POST',
        headers: { 'x-organization-id': 'org-8', 'x-request-id': `${prefix}-${n}` },
      });
      expect(res.status).toBe(200);
    }
    await settled(audit, 30_000);
    await audit.close();
    expectPairs(await stored(prefix), 3);
  });

  it('Express, AUDIT_DURABLE_PATHS: the same before any other middleware; the intent is synced in the spool when OpenSearch is down', async () => {
    const prefix = uniquePrefix('durable-express');
    const down = await stoppedNode();
    const { audit } = await faultAudit(prefix, down, { durablePaths: ['/transfers/*'] });
    cleanups.push(() => audit.close().catch(() => undefined));
    let ran = 0;
    const app = express();
    app.use(expressAudit(audit));
    app.post('/transfers/:id', (_req, res) => {
      ran++;
      res.json({ ok: true });
    });
    app.get('/other', (_req, res) => {
      res.json({ ok: true });
    });
    const url = await listen(http.createServer(app));
    for (let n = 0; n < 3; n++) {
      const res = await fetch(`${url}/transfers/t-${n}`, {
        method: 'POST',
        headers: { 'x-organization-id': 'org-3', 'x-request-id': `${prefix}-${n}` },
      });
      expect(res.status).toBe(200);
      // The handler ran only after the intent was synced in the spool.
      expect(audit.stats().spooled).toBeGreaterThanOrEqual(n + 1);
    }
    expect((await fetch(`${url}/other`)).status).toBe(200);
    expect(ran).toBe(3);
    await waitFor('every event to reach the spool', () => audit.stats().inFlight === 0, 30_000);
    const final = await audit.close();
    expect(final.dropped.total).toBe(0);
    expect(final.captured).toBe(7);
  });

  it('Hono, a durable path with OpenSearch down and the spool on a full disk: the intent is lost, 503, the handler never runs', async () => {
    const prefix = uniquePrefix('durable-lost');
    const spoolDir = spoolOnTmpfs(prefix, 4);
    const down = await stoppedNode();
    const { audit, registry } = await faultAudit(prefix, down, { durablePaths: ['/transfers/*'], spoolDir });
    cleanups.push(() => audit.close().catch(() => undefined));
    fillVolume(spoolDir);
    let ran = 0;
    const app = new Hono();
    app.use(honoAudit(audit));
    app.post('/transfers/:id', (c) => {
      ran++;
      return c.json({ ok: true });
    });
    for (let n = 0; n < 3; n++) {
      const res = await app.request(`/transfers/t-${n}`, {
        method: 'POST',
        headers: { 'x-organization-id': 'org-4', 'x-request-id': `${prefix}-${n}` },
      });
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({
        error: { code: 'AUDIT_ERR_UNAVAILABLE', reason: 'intent_lost' },
      });
    }
    expect(ran).toBe(0);
    expect(metric(await registry.metrics(), 'audit_requests_refused_total{reason="intent_lost"}')).toBe(3);
    await waitFor('every event to have an outcome', () => audit.stats().inFlight === 0, 30_000);
    const final = await audit.close();
    // Intents and their 503 completions: nowhere to keep them, each drop counted.
    expect(final.captured).toBe(6);
    expect(final.dropped.total).toBe(6);
  });

  it("OpenSearch holding its answers: the intent's bulk is given up at half of AUDIT_DURABLE_TIMEOUT_MS and the intent synced in the spool; the handler runs", async () => {
    const proxy = await startFaultProxy(testUrl());
    cleanups.push(() => proxy.close());
    const prefix = uniquePrefix('durable-held');
    const { audit, registry } = await faultAudit(prefix, proxy.url, {
      durableTimeoutMs: 1000,
      opensearch: { host: '127.0.0.1', port: Number(new URL(proxy.url).port), timeoutSeconds: 10 },
    });
    cleanups.push(() => audit.close().catch(() => undefined));
    let ran = 0;
    const app = express();
    app.use(expressAudit(audit));
    app.post('/transfers/:id', expressAuditAs({ durable: true }), (_req, res) => {
      ran++;
      res.json({ ok: true });
    });
    const url = await listen(http.createServer(app));
    // OpenSearch applies each bulk at once but its answer is held 3 s, past the durable timeout.
    proxy.mode = { answerDelayMs: 3000 };
    const res = await fetch(`${url}/transfers/t-1`, {
      method: 'POST',
      headers: { 'x-organization-id': 'org-5', 'x-request-id': `${prefix}-1` },
    });
    expect(res.status).toBe(200);
    expect(ran).toBe(1);
    const metrics = await registry.metrics();
    expect(metric(metrics, 'audit_bulk_requests_total{outcome="abandoned"}')).toBeGreaterThanOrEqual(1);
    expect(metric(metrics, 'audit_events_spooled_total')).toBeGreaterThanOrEqual(1);
    proxy.mode = {};
    // Replayed once answers come back: what OpenSearch had applied is a 409, stored once.
    await settled(audit, 30_000);
    await audit.close();
    const docs = await stored(prefix);
    expectPairs(docs, 1);
    expect(docs.find((d) => d.phase === 'completed')).toMatchObject({ response_status_code: 200 });
  });

  it('SIGKILL inside a durable handler: the intent was synced in the spool; after a restart and replay it is stored, and `pdaas-audit intents` lists it as unfinished', async () => {
    const prefix = uniquePrefix('durable-kill');
    const spoolDir = tempDir(prefix);
    const node = new URL(testUrl());
    const start = async (opensearch: { host: string; port: string }) => {
      const port = await closedPort();
      const { child, output } = tsx('test/support/durable-child.ts', {
        PORT: String(port),
        PREFIX: prefix,
        SPOOL_DIR: spoolDir,
        OS_URL: testUrl(),
        INTENT_IN: 'spool',
        AUDIT_OPENSEARCH_HOST: opensearch.host,
        AUDIT_OPENSEARCH_PORT: opensearch.port,
      });
      cleanups.push(() => child.kill('SIGKILL'));
      await waitFor('the app to listen', () => output().includes('listening'), 60_000);
      return { child, url: `http://127.0.0.1:${port}`, output };
    };

    // OpenSearch down: the intent can only be made durable in the spool.
    const first = await start({ host: '127.0.0.1', port: String(await closedPort()) });
    fetch(`${first.url}/transfers/t-9`, {
      method: 'POST',
      headers: { 'x-organization-id': 'org-7', 'x-actor-id': 'bob', 'x-request-id': `${prefix}-9` },
    }).catch(() => undefined);
    await waitFor('the handler to start', () => first.output().includes('HANDLER '), 30_000);
    const [, intentId, durable] = /HANDLER (\S+) durable=(\w+)/.exec(first.output()) ?? [];
    expect(durable, `the intent was synced in the spool before the handler ran:\n${first.output()}`).toBe(
      'true',
    );
    const gone = exited(first.child);
    first.child.kill('SIGKILL');
    await gone;

    // Started again against the node: the spool the killed process left is replayed.
    const second = await start({ host: node.hostname, port: node.port });
    await waitFor(
      'the intent to be replayed into OpenSearch',
      () => inOpenSearch(prefix, String(intentId), 'org-7'),
      60_000,
    );
    const env = {
      AUDIT_OPENSEARCH_HOST: node.hostname,
      AUDIT_OPENSEARCH_PORT: node.port,
      AUDIT_INDEX_PREFIX: prefix,
    };
    await testClient().indices.refresh({ index: eventsOf(prefix) });
    const listed = await pdaas(['intents', '--org', 'org-7', '--json'], env);
    expect(listed.code, listed.stderr).toBe(0);
    const { intents } = JSON.parse(listed.stdout) as { intents: Record<string, unknown>[] };
    expect(
      intents.map((e) => e.event_id),
      `${listed.stdout}\n${second.output()}`,
    ).toEqual([intentId]);
    expect(intents[0]).toMatchObject({
      action: 'transfers.execute',
      actor_id: 'bob',
      request_id: `${prefix}-9`,
    });
    const text = await pdaas(['intents', '--org', 'org-7'], env);
    expect(text.stdout).toContain(String(intentId));
    expect(text.stderr).toContain('1 unfinished intent');
    second.child.kill('SIGTERM');
    await exited(second.child);
    const all = await storedEvents(testClient(), eventsOf(prefix));
    expect(all.duplicateEventIds).toEqual([]);
  });
});
