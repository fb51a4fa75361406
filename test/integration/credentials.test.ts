// Credentials never leave the configuration: every line the library logs (default logger on
// stderr, worker logs included), every error it throws, the metrics, the stats, the spool and the
// dead-letter files are searched for the password and its Basic-auth form.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@opensearch-project/opensearch';
import { createAudit } from '@pdaas/audit';
import { syncRole } from '@pdaas/audit/opensearch';
import { Registry } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import { createApp } from '../../examples/hono/app.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { settled, tempDir, waitFor } from '../support/faults.js';
import { testUrl, uniquePrefix } from '../support/opensearch.js';

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile());
}

describe('credentials', () => {
  it('never appear in logs, errors, metrics, stats, the spool or dead letters', async () => {
    const username = 'audit_writer';
    const password = `pw-${randomBytes(9).toString('hex')}`;
    const basic = Buffer.from(`${username}:${password}`).toString('base64');
    const seen: string[] = [];
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: unknown) => {
      seen.push(String(chunk));
      return true;
    });
    const node = new URL(testUrl());
    const spoolDir = tempDir('creds');
    try {
      // A: a working cluster (the dev node ignores the credentials, the client still sends them).
      const prefix = uniquePrefix('cred');
      const registryA = new Registry();
      const a = await createAudit({
        registry: registryA,
        indexPrefix: prefix,
        indexShards: 1,
        indexReplicas: 0,
        flushIntervalSeconds: 0.2,
        spoolDir,
        opensearch: { host: node.hostname, port: Number(node.port), username, password },
      });
      const appA = createApp(a);
      for (let i = 0; i < 50; i++) {
        await (
          await appA.request(`/accounts/a-${i}`, { headers: { 'x-organization-id': 'org-c' } })
        ).arrayBuffer();
      }
      await settled(a);
      seen.push(await registryA.metrics(), JSON.stringify(a.stats()));
      seen.push(JSON.stringify(await a.close()));

      // B: an unreachable cluster: connection errors, the breaker opens, events are spooled.
      const registryB = new Registry();
      const b = await createAudit({
        registry: registryB,
        indexPrefix: prefix,
        flushIntervalSeconds: 0.2,
        retryAttempts: 1,
        retryBackoffSeconds: 0.01,
        breakerFailures: 1,
        spoolDir,
        opensearch: { host: '127.0.0.1', port: 1, username, password, timeoutSeconds: 1 },
      });
      const appB = createApp(b);
      for (let i = 0; i < 50; i++) {
        await (
          await appB.request(`/accounts/b-${i}`, { headers: { 'x-organization-id': 'org-c' } })
        ).arrayBuffer();
      }
      await waitFor('events spooled', () => b.stats().spooled === 50);
      seen.push(await registryB.metrics(), JSON.stringify(await b.close()));

      // C: a configuration error next to the password, and the security API through an authed client.
      try {
        resolveConfig({}, { AUDIT_OPENSEARCH_PASSWORD: password, AUDIT_OPENSEARCH_PORT: 'x' });
      } catch (err) {
        seen.push(String(err), (err as Error).stack ?? '');
      }
      const authed = new Client({ node: testUrl(), auth: { username, password } });
      const role = await syncRole(authed, {});
      expect(role).toMatchObject({ state: 'skipped', code: 'AUDIT_ERR_SECURITY_UNAVAILABLE' });
      seen.push(JSON.stringify(role));
      await authed.close();
    } finally {
      stderr.mockRestore();
    }
    for (const f of filesUnder(spoolDir)) seen.push(readFileSync(f, 'latin1'));

    const all = seen.join('\n');
    // Non-vacuous: the logs, metrics and spool we searched really are there.
    expect(all).toContain('Audit system initialized');
    expect(all).toContain('Circuit breaker open');
    expect(all).toContain('audit_events_total 50');
    expect(all).toContain('/accounts/b-49');
    expect(all).toContain('AUDIT_OPENSEARCH_PORT');
    expect(all).not.toContain(password);
    expect(all).not.toContain(basic);
  });
});
