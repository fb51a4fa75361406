// One variant of the Hono example, served on 127.0.0.1:<free port> in its own process so the
// harness (bench/load/run.ts) can read this process's CPU from /proc. Talks to it over IPC:
// sends { ready, port, spool? }, and on 'stop' closes, sends { stats? } (audited) and exits.
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
  // Without AUDIT_OPENSEARCH_HOST the worker spools what it drains, to a throwaway folder.
  if (!process.env.AUDIT_OPENSEARCH_HOST) spoolDir = mkdtempSync(join(tmpdir(), 'pdaas-load-'));
  audit = await createAudit({ logger: silent, ...(spoolDir && { spoolDir }) });
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
process.send?.({ ready: true, port, ...(spoolDir && { spool: spoolDir }) });

process.on('message', async (msg: { stop?: boolean; stats?: boolean }) => {
  if (msg.stats) process.send?.({ inFlight: audit?.stats().inFlight ?? 0 });
  if (!msg.stop) return;
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    (server as { closeAllConnections?: () => void }).closeAllConnections?.();
  });
  const stats = audit ? await audit.close() : undefined;
  if (spoolDir) rmSync(spoolDir, { recursive: true, force: true });
  process.send?.({ stopped: true, stats }, () => process.exit(0));
});
