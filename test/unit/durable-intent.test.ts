// Audit.intent() without a worker's word: an Audit whose pool never started (createAudit() starts
// it; here nothing drains the ring), so the only way an intent settles is its timeout or close().
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { Audit } from '../../src/audit.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { Phase } from '../../src/event.js';
import { event } from '../support/captured-event.js';

const silent = { info() {}, warn() {}, error() {} };
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function unstarted(durableTimeoutMs: number, maxQueueSize = 50_000): Audit {
  const spoolDir = mkdtempSync(join(tmpdir(), 'pdaas-intent-'));
  dirs.push(spoolDir);
  return new Audit(resolveConfig({ spoolDir, durableTimeoutMs, maxQueueSize }, {}), new Registry(), silent);
}

describe('Audit.intent', () => {
  it('is refused with durable_timeout when no word comes within AUDIT_DURABLE_TIMEOUT_MS, its id known at once', async () => {
    const audit = unstarted(50);
    const started = performance.now();
    const { id, outcome } = audit.intent(event({ phase: Phase.RECEIVED }));
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(await outcome).toEqual({ id, refused: 'durable_timeout' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    expect(audit.stats()).toMatchObject({ captured: 1, inFlight: 1 });
  });

  it('is refused at once, without an id, when the ring has no room', async () => {
    const audit = unstarted(2000, 1);
    audit.capture(event());
    const { id, outcome } = audit.intent(event({ phase: Phase.RECEIVED }));
    expect(id).toBeUndefined();
    expect(await outcome).toEqual({ refused: 'ring_full' });
  });

  it('close() settles an intent still waiting: the request is refused, not left hanging', async () => {
    const audit = unstarted(600_000);
    const { id, outcome } = audit.intent(event({ phase: Phase.RECEIVED }));
    await audit.close({ timeoutSeconds: 0.1 }).catch(() => undefined);
    expect(await outcome).toEqual({ id, refused: 'intent_lost' });
  });
});
