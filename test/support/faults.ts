// Shared pieces of the fault scenarios: an Audit tuned for quick recovery (short backoff, a breaker
// that opens after three failures and probes after a second), polling, and the final check that
// OpenSearch holds exactly the expected events, each once.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@opensearch-project/opensearch';
import {
  type Audit,
  type AuditStats,
  type CreateAuditOptions,
  createAudit,
  createReader,
} from '@pdaas/audit';
import { Registry } from 'prom-client';
import { expect } from 'vitest';
import { drive, totalSent } from '../../examples/traffic.js';
import { storedEvents } from '../../scripts/opensearch/stored.js';
import { collectLogs, type LogLines } from './logs.js';
import { testClient } from './opensearch.js';

export function tempDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `pdaas-${label}-`));
}

export async function faultAudit(
  prefix: string,
  target: string | undefined,
  extra: CreateAuditOptions = {},
): Promise<{ audit: Audit; logs: LogLines; registry: Registry }> {
  const logs = collectLogs();
  const registry = new Registry();
  const url = target ? new URL(target) : undefined;
  const audit = await createAudit({
    registry,
    logger: logs.logger,
    indexPrefix: prefix,
    indexShards: 1,
    indexReplicas: 0,
    batchSize: 200,
    flushIntervalSeconds: 0.2,
    retryAttempts: 2,
    retryBackoffSeconds: 0.05,
    breakerFailures: 3,
    breakerCooldownSeconds: 1,
    spoolDir: tempDir(prefix),
    ...(url && { opensearch: { host: url.hostname, port: Number(url.port), timeoutSeconds: 5 } }),
    ...extra,
  });
  return { audit, logs, registry };
}

export async function waitFor(
  what: string,
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Drives traffic in one-second phases until `seen()` holds, then one phase more, for at most
 * `timeoutMs`; returns the requests sent. On a busy machine requests come slower, and a fixed
 * window could end before the fault under test shows.
 */
export async function driveUntil(
  url: string,
  opts: { prefix: string; orgs: number; concurrency: number; rate?: number },
  seen: () => boolean,
  timeoutMs: number,
): Promise<number> {
  let sent = 0;
  const deadline = Date.now() + timeoutMs;
  for (let extra = 1; extra >= 0 && Date.now() < deadline; ) {
    sent += totalSent(await drive(url, 1e9, { ...opts, from: sent, until: Date.now() + 1_000 }));
    if (seen()) extra--;
  }
  return sent;
}

/**
 * Ends a scenario: stops the app, waits until every event has reached an end, reads the metrics,
 * then closes the audit.
 */
export async function finish(
  app: { close(): Promise<void> },
  audit: Audit,
  registry: Registry,
  settleMs = 120_000,
): Promise<{ final: AuditStats; metrics: string }> {
  await app.close();
  await settled(audit, settleMs);
  const metrics = await registry.metrics();
  return { final: await audit.close(), metrics };
}

/** Waits until nothing is in flight or spooled: everything captured has reached OpenSearch or a counted end. */
export async function settled(audit: Audit, timeoutMs = 120_000): Promise<void> {
  await waitFor(
    'the ring and the spool to empty',
    () => {
      const s = audit.stats();
      return s.inFlight === 0 && s.spooled === 0;
    },
    timeoutMs,
  );
}

/**
 * OpenSearch holds exactly `expected` events of this prefix, no event_id or request twice, and
 * every organization's hash chains verify clean (no position modified, missing, inserted or out of
 * order): whatever path an event took, its chain position was given once and kept.
 */
export async function expectStoredExactlyOnce(
  prefix: string,
  expected: number,
  client: Client = testClient(),
): Promise<void> {
  const stored = await storedEvents(client, `${prefix}-*`);
  expect(stored.duplicateEventIds, 'an event_id appears twice').toEqual([]);
  expect(stored.duplicateRequests, 'a request was stored twice').toEqual([]);
  expect(stored.total).toBe(expected);
  await expectChainsIntact(prefix, [...stored.perOrg.keys()], client);
}

/**
 * Every organization's chains verify clean and every event is on one; returns the positions the
 * checkpoints list as voided (events refused or dropped after their position was given).
 */
export async function expectChainsIntact(
  prefix: string,
  orgs: string[],
  client: Client = testClient(),
): Promise<number> {
  let voided = 0;
  // The checkpoints written at close, too.
  await client.indices.refresh({ index: `${prefix}-*` });
  for (const organizationId of orgs) {
    const report = await createReader({ organizationId, indexPrefix: prefix, client }).verify();
    expect(report.problems.slice(0, 5), `chains of ${organizationId}`).toEqual([]);
    expect(report.valid).toBe(report.events);
    voided += report.voided;
    if (report.voided > 0) continue;
    for (const c of report.chains)
      expect(c.firstSeq, `chain ${c.chainId} of ${organizationId} starts at 1`).toBe(1);
  }
  return voided;
}

/** captured = indexed + deadLettered + dropped + spooled + inFlight, with no drops. */
export function expectExactAccounting(s: ReturnType<Audit['stats']>): void {
  expect(s.indexed + s.deadLettered + s.dropped.total + s.spooled + s.inFlight).toBe(s.captured);
  expect(s.dropped.total, JSON.stringify(s.dropped.byReason)).toBe(0);
}

/** The scenario's summary line: final stats plus the spool's totals from the metrics. */
export function summary(name: string, final: AuditStats, metrics: string): string {
  const total = (m: string) => Number(new RegExp(`^${m} (\\d+)`, 'm').exec(metrics)?.[1] ?? 0);
  const { dropped, ...rest } = final;
  return `${name}: ${JSON.stringify({ ...rest, dropped: dropped.total })}, spooled total ${total('audit_events_spooled_total')}, replayed total ${total('audit_events_replayed_total')}`;
}
