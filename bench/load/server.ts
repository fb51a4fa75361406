// One variant of the Hono example, served on 127.0.0.1:<free port> in its own process so the
// harness can read this process's CPU and memory from /proc. IPC with the harness (bench/load/run.ts):
//   → { ready, port, spool? }                         once listening
//   ← { track: true }  → { tracking }                 starts sampling the audit ring every 20 ms
//   ← { report: true } → { report: { inFlight, spooled, peak_in_flight, peak_ring_bytes, ring_capacity } }
//   ← { stop: true }   → { stopped, stats?, metrics? } after closing the server and the Audit
// The audited variant ships to AUDIT_OPENSEARCH_HOST when set (the profiles), else to a throwaway
// spool folder (the overhead comparison: no OpenSearch on the same two cores).
//   node --import tsx bench/load/server.ts bare|audited|peer
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { type Audit, createAudit } from '@pdaas/audit';
import { Hono } from 'hono';
import pino from 'pino';
import { createApp } from '../../examples/hono/app.js';

const variant = process.argv[2];
const silent = { info() {}, warn() {}, error() {} };
let audit: Audit | undefined;
let spoolDir: string | undefined;
let app: Hono;

if (variant === 'bare') {
  app = createApp();
} else if (variant === 'audited') {
  // Without AUDIT_OPENSEARCH_HOST the worker spools what it drains (the embedded default).
  spoolDir = mkdtempSync(join(tmpdir(), 'pdaas-load-'));
  audit = await createAudit({ logger: silent, spoolDir });
  app = createApp(audit);
} else if (variant === 'peer') {
  // The peer stack: one pino record per request, written by pino's worker transport to /dev/null.
  const logger = pino(pino.transport({ target: 'pino/file', options: { destination: '/dev/null' } }));
  app = new Hono();
  app.use(async (c, next) => {
    const t0 = performance.now();
    await next();
    const h = c.req.raw.headers;
    logger.info({
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      durationMs: performance.now() - t0,
      organizationId: h.get('x-organization-id'),
      actorId: h.get('x-actor-id'),
      requestId: h.get('x-request-id'),
      userAgent: h.get('user-agent'),
      // The same body the audit captures (cached by Hono after the handler parsed it).
      ...(c.req.method === 'POST' && { body: await c.req.json() }),
    });
  });
  app.route('/', createApp());
} else {
  throw new Error(`unknown variant ${variant}: bare | audited | peer`);
}

const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
if (!server.listening) await new Promise((r) => server.once('listening', r));
const { port } = server.address() as AddressInfo;
process.send?.({
  ready: true,
  port,
  ...(!process.env.AUDIT_OPENSEARCH_HOST && spoolDir && { spool: spoolDir }),
});

/** The ring's used bytes and capacity, as the audit_ring_bytes gauge reports them. */
function ringBytes(a: Audit): { used: number; capacity: number } {
  const metric = a.registry.getSingleMetric('audit_ring_bytes') as unknown as {
    read(): Array<{ labels: { state: string }; value: number }>;
  };
  const samples = metric.read();
  const value = (state: string) => samples.find((s) => s.labels.state === state)?.value ?? 0;
  return { used: value('used'), capacity: value('capacity') };
}

let peakInFlight = 0;
let peakRingBytes = 0;
let sampler: NodeJS.Timeout | undefined;

process.on('message', async (msg: { track?: boolean; report?: boolean; stop?: boolean }) => {
  if (msg.track && audit) {
    const a = audit;
    peakInFlight = 0;
    peakRingBytes = 0;
    clearInterval(sampler);
    sampler = setInterval(() => {
      peakInFlight = Math.max(peakInFlight, a.stats().inFlight);
      peakRingBytes = Math.max(peakRingBytes, ringBytes(a).used);
    }, 20);
    process.send?.({ tracking: true });
  }
  if (msg.report) {
    process.send?.({
      report: audit
        ? {
            inFlight: audit.stats().inFlight,
            spooled: audit.stats().spooled,
            peak_in_flight: peakInFlight,
            peak_ring_bytes: peakRingBytes,
            ring_capacity: ringBytes(audit).capacity,
          }
        : { inFlight: 0 },
    });
  }
  if (!msg.stop) return;
  clearInterval(sampler);
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    (server as { closeAllConnections?: () => void }).closeAllConnections?.();
  });
  const metrics = audit ? await audit.registry.getMetricsAsJSON() : undefined;
  const stats = audit ? await audit.close() : undefined;
  if (spoolDir) rmSync(spoolDir, { recursive: true, force: true });
  process.send?.({ stopped: true, stats, metrics }, () => process.exit(0));
});
