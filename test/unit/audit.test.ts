// The Audit facade with real worker threads (the compiled dist/worker/drain.js: run `npm run build`
// first) and no OpenSearch: every event ends in the spool under a temporary directory. The Audit
// type comes from the source, so its @internal capture() is callable without a cast.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Audit, type AuditStats, type CreateAuditOptions, createAudit } from '../../src/audit.js';
import { AuditError } from '../../src/errors.js';
import { BodyKind, type CapturedEvent, Phase } from '../../src/event.js';
import type { AuditLogger } from '../../src/logger.js';
import { readSpool } from '../../src/spool/reader.js';
import type { AuditDocument } from '../../src/worker/document.js';

/** A GET like bench/fixtures.ts makes, varied by n. */
function event(n: number, over: Partial<CapturedEvent> = {}): CapturedEvent {
  return {
    ts: Date.now(),
    seq: 0,
    method: 'GET',
    path: `/policies/pol-${n}`,
    query: '',
    route: '/policies/:id',
    status: 200,
    durationMs: 0.5,
    actorId: `user-${n % 7}`,
    actorType: 'user',
    organizationId: `org-${n % 10}`,
    accountId: '',
    action: 'policies.read',
    target: `policy:pol-${n}`,
    traceId: '',
    requestId: `req-${n}`,
    clientIp: '10.1.2.3',
    userAgent: 'vitest',
    contentType: '',
    bodyKind: BodyKind.NONE,
    body: null,
    bodySize: -1,
    bodyTruncated: false,
    error: '',
    phase: Phase.NONE,
    intentId: '',
    ...over,
  };
}

/** The captured = indexed + deadLettered + dropped.total + spooled + inFlight identity. */
function expectBalanced(s: AuditStats): void {
  expect(s.captured, JSON.stringify(s)).toBe(
    s.indexed + s.deadLettered + s.dropped.total + s.spooled + s.inFlight,
  );
}

function silentLogger() {
  return { info: vi.fn(), warn: vi.fn(), error: vi.fn() } satisfies AuditLogger;
}

let spoolDir: string;
const open: Audit[] = [];

beforeEach(async () => {
  spoolDir = await mkdtemp(join(tmpdir(), 'audit-facade-'));
  // No OpenSearch, whatever the environment says.
  vi.stubEnv('AUDIT_OPENSEARCH_HOST', undefined);
});

afterEach(async () => {
  for (const a of open.splice(0)) await a.close().catch(() => undefined);
  vi.unstubAllEnvs();
  await rm(spoolDir, { recursive: true, force: true });
});

async function start(options: CreateAuditOptions = {}) {
  const registry = new Registry();
  const logger = silentLogger();
  const audit = await createAudit({
    workers: 1,
    spoolDir,
    batchSize: 10,
    flushIntervalSeconds: 0.05,
    closeTimeoutSeconds: 20,
    registry,
    logger,
    ...options,
  });
  open.push(audit);
  return { audit, registry, logger };
}

async function spooledDocuments(): Promise<AuditDocument[]> {
  const docs: AuditDocument[] = [];
  for await (const segment of readSpool(spoolDir)) {
    expect(segment.corruptTail).toBe(false);
    docs.push(...segment.documents);
  }
  return docs;
}

describe('Audit with workers and no OpenSearch', () => {
  it('keeps captured = indexed + deadLettered + dropped + spooled + inFlight at every moment', async () => {
    const { audit } = await start();
    expect(audit.active).toBe(true);
    const N = 120;
    for (let i = 0; i < N; i++) {
      audit.capture(event(i));
      if (i % 10 === 0) expectBalanced(audit.stats());
    }
    const right = audit.stats();
    expect(right.captured).toBe(N);
    expectBalanced(right);
    // Watch the workers move every event to the spool, checking the sum on every look.
    await vi.waitFor(
      () => {
        const s = audit.stats();
        expectBalanced(s);
        expect(s.spooled).toBe(N);
      },
      { timeout: 10_000, interval: 5 },
    );
    const s = audit.stats();
    expect(s).toEqual({
      captured: N,
      indexed: 0,
      deadLettered: 0,
      dropped: { total: 0, byReason: expect.any(Object) },
      spooled: N,
      inFlight: 0,
      recovered: 0,
      captureErrors: 0,
    });
    expect(Object.values(s.dropped.byReason).every((v) => v === 0)).toBe(true);
  });

  it('close() resolves with nothing in flight and every event spooled, each once with its own id', async () => {
    const { audit, logger } = await start({ flushIntervalSeconds: 3600, batchSize: 100_000 });
    const N = 40;
    for (let i = 0; i < N; i++) audit.capture(event(i));
    const final = await audit.close();
    expect(final).toMatchObject({ captured: N, indexed: 0, deadLettered: 0, spooled: N, inFlight: 0 });
    expect(final.dropped.total).toBe(0);
    expectBalanced(final);
    expect(audit.stats()).toEqual(final);
    expect(logger.info).toHaveBeenCalledWith(expect.objectContaining({ spooled: N }), 'Audit system closed');

    const docs = await spooledDocuments();
    expect(docs).toHaveLength(N);
    expect(new Set(docs.map((d) => d.id)).size).toBe(N);
    expect(docs.map((d) => d.source.request_path).sort()).toEqual(
      Array.from({ length: N }, (_, i) => `/policies/pol-${i}`).sort(),
    );
    expect(docs.every((d) => d.source.action === 'policies.read')).toBe(true);
  });

  it('assigns each captured event the next sequence number', async () => {
    const { audit } = await start();
    const events = [event(1), event(2), event(3)];
    for (const e of events) audit.capture(e);
    expect(events.map((e) => e.seq)).toEqual([0, 1, 2]);
    await audit.close();
  });

  it('counts a capture after close() as dropped "closed", and the sum still holds', async () => {
    const { audit } = await start();
    audit.capture(event(1));
    const final = await audit.close();
    audit.capture(event(2));
    audit.capture(event(3));
    const s = audit.stats();
    expect(s.captured).toBe(3);
    expect(s.dropped.byReason.closed).toBe(2);
    expect(s.dropped.total).toBe(2);
    expect(s.spooled).toBe(final.spooled);
    expect(s.spooled).toBe(1);
    expectBalanced(s);
  });

  it('close() right after a worker died waits for its replacement instead of giving up at once', async () => {
    // A long flush interval keeps the events in the worker's batch, unreleased, when it dies.
    const { audit } = await start({ flushIntervalSeconds: 30, batchSize: 1000 });
    for (let i = 0; i < 50; i++) audit.capture(event(i));
    await vi.waitFor(() => expect(audit.stats().inFlight).toBe(50), { timeout: 5000 });
    const [thread] = audit.workerThreads();
    await thread?.terminate();
    // The pool restarts the shard 50 ms later; close() lands in that gap.
    const final = await audit.close();
    expect(final).toMatchObject({ captured: 50, spooled: 50, inFlight: 0 });
    expectBalanced(final);
  });

  it('returns the same promise from a second close()', async () => {
    const { audit } = await start();
    audit.capture(event(1));
    const first = audit.close();
    const second = audit.close();
    expect(second).toBe(first);
    expect(await second).toMatchObject({ captured: 1, spooled: 1, inFlight: 0 });
  });

  it('drops events past its share of maxQueueSize as ring_full and keeps the sum', async () => {
    // Batches that never fill and an interval that never ends: the worker releases nothing
    // before close(), so exactly maxQueueSize events fit in the ring.
    const { audit } = await start({ maxQueueSize: 5, batchSize: 100_000, flushIntervalSeconds: 3600 });
    for (let i = 0; i < 8; i++) audit.capture(event(i));
    const s = audit.stats();
    expect(s.dropped.byReason.ring_full).toBe(3);
    expect(s.inFlight).toBe(5);
    expectBalanced(s);
    const final = await audit.close();
    expect(final).toMatchObject({ captured: 8, spooled: 5, inFlight: 0 });
    expect(final.dropped.byReason.ring_full).toBe(3);
    expectBalanced(final);
  });

  it('keeps an event whose body does not fit a ring frame, without the body', async () => {
    const { audit } = await start({ ringBytes: 65536 });
    const big = event(1, {
      method: 'POST',
      contentType: 'text/plain',
      bodyKind: BodyKind.TEXT,
      body: 'x'.repeat(40_000),
      bodySize: 40_000,
    });
    audit.capture(big);
    expect(big).toMatchObject({
      bodyKind: BodyKind.NOTE,
      body: 'body too large for the ring frame',
      bodyTruncated: true,
    });
    const final = await audit.close();
    expect(final).toMatchObject({ captured: 1, spooled: 1 });
    expect(final.dropped.total).toBe(0);
  });

  it('shows its metrics in the registry while open, and removes them at close', async () => {
    const { audit, registry } = await start();
    for (let i = 0; i < 3; i++) audit.capture(event(i));
    await vi.waitFor(() => expect(audit.stats().spooled).toBe(3), { timeout: 10_000, interval: 5 });
    const text = await registry.metrics();
    expect(text).toMatch(/^audit_events_total 3$/m);
    expect(text).toMatch(/^audit_events_spooled_total 3$/m);
    expect(text).toMatch(/^audit_queue_size 0$/m);
    expect(text).toMatch(/^audit_workers_alive 1$/m);
    expect(text).toMatch(/^circuit_breaker_state 0$/m);
    expect(text).toMatch(/^audit_events_latency_seconds_count 3$/m);
    await audit.close();
    expect(await registry.metrics()).not.toContain('audit_events_total');
  });

  it('refuses a registry another open Audit already uses, before starting any worker', async () => {
    const { registry } = await start();
    const error = await createAudit({ workers: 1, spoolDir, registry, logger: silentLogger() }).catch(
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(AuditError);
    expect((error as AuditError).code).toBe('AUDIT_ERR_INVALID_OPTION');
  });
});

describe('Audit switched off', () => {
  it('enabled: false is inactive, starts no worker and spools nothing', async () => {
    const { audit, logger, registry } = await start({ enabled: false });
    expect(audit.active).toBe(false);
    expect(audit.workerThreads()).toHaveLength(0);
    expect(logger.info).toHaveBeenCalledWith(
      expect.objectContaining({ enabled: false }),
      'Audit system disabled',
    );
    // The adapters never call capture() on an inactive audit; a direct call is counted as dropped.
    audit.capture(event(1));
    const s = audit.stats();
    expect(s).toMatchObject({ captured: 1, spooled: 0, inFlight: 0 });
    expect(s.dropped.byReason.closed).toBe(1);
    expectBalanced(s);
    expect(await registry.metrics()).toMatch(/^audit_events_total 1$/m);
    const final = await audit.close();
    expect(final.spooled).toBe(0);
    expect(await spooledDocuments()).toEqual([]);
  });

  it('excludedPaths ["/*"] is inactive, and excludes every path', async () => {
    const { audit } = await start({ excludedPaths: ['/*'] });
    expect(audit.active).toBe(false);
    expect(audit.workerThreads()).toHaveLength(0);
    expect(audit.isExcluded('/')).toBe(true);
    expect(audit.isExcluded('/policies/1')).toBe(true);
    await audit.close();
  });

  it('other excluded paths leave it active and exclude only what they match', async () => {
    const { audit } = await start({ excludedPaths: ['/health', '/internal/*'] });
    expect(audit.active).toBe(true);
    expect(audit.isExcluded('/health')).toBe(true);
    expect(audit.isExcluded('/internal/metrics')).toBe(true);
    expect(audit.isExcluded('/policies/1')).toBe(false);
    await audit.close();
  });
});
