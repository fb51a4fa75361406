// Signals that end a process: SIGTERM during traffic (it drains and exits, nothing lost), SIGKILL
// while the breaker is open (a new process replays the spool it left), and SIGTERM on the embedded
// default with AUDIT_HANDLE_SIGNALS (drained to the spool, replayed once OpenSearch is configured).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { drive, totalSent } from '../../../examples/traffic.js';
import { readSpool } from '../../../src/spool/reader.js';
import { exited, tsx } from '../../support/child.js';
import { expectStoredExactlyOnce, faultAudit, tempDir, waitFor } from '../../support/faults.js';
import { testUrl, uniquePrefix } from '../../support/opensearch.js';
import { closedPort } from '../../support/test-certs.js';

describe('process signals', () => {
  it('SIGTERM during traffic: the app drains the audit and exits 0; every answered request is stored once', async () => {
    const prefix = uniquePrefix('sigterm');
    const node = new URL(testUrl());
    const port = await closedPort();
    const { child, output } = tsx('examples/hono/app.ts', {
      PORT: String(port),
      AUDIT_OPENSEARCH_HOST: node.hostname,
      AUDIT_OPENSEARCH_PORT: node.port,
      AUDIT_INDEX_PREFIX: prefix,
      AUDIT_INDEX_SHARDS: '1',
      AUDIT_INDEX_REPLICAS: '0',
      AUDIT_FLUSH_INTERVAL_SECONDS: '0.5',
      AUDIT_SPOOL_DIR: tempDir(prefix),
    });
    const exit = exited(child);
    await waitFor('the app to listen', () => output().includes('listening on'), 60_000);
    const traffic = drive(`http://127.0.0.1:${port}`, 1e9, {
      orgs: 20,
      prefix,
      until: Date.now() + 6_000,
      rate: 400,
      concurrency: 8,
      tolerateErrors: true,
    });
    await new Promise((r) => setTimeout(r, 2_500));
    child.kill('SIGTERM');
    const answered = await traffic;
    const { code } = await exit;
    expect(code, output()).toBe(0);
    const line = /audit closed (\{.*\})/.exec(output())?.[1];
    expect(line, output()).toBeDefined();
    const final = JSON.parse(line as string) as {
      captured: number;
      indexed: number;
      dropped: { total: number };
    };
    expect(totalSent(answered)).toBeGreaterThan(0);
    expect(final.captured).toBe(totalSent(answered));
    expect(final.indexed).toBe(final.captured);
    expect(final.dropped.total).toBe(0);
    await expectStoredExactlyOnce(prefix, final.captured);
    console.log(`SIGTERM during traffic: ${line}; requests refused after SIGTERM: ${answered.failed}`);
  });

  it('SIGKILL while the breaker is open: the next process replays the spool it left', async () => {
    const prefix = uniquePrefix('sigkill');
    const spoolDir = tempDir(prefix);
    const events = 1500;
    const { child, output } = tsx('test/support/spool-child.ts', {
      EVENTS: String(events),
      PREFIX: prefix,
      SPOOL_DIR: spoolDir,
      DEAD_PORT: String(await closedPort()),
    });
    const exit = exited(child);
    await waitFor('the first process to spool everything', () => output().includes('SPOOLED'), 120_000);
    expect(output()).toContain(`SPOOLED ${events} breaker 1`);
    child.kill('SIGKILL');
    expect((await exit).signal).toBe('SIGKILL');
    expect(readdirSync(join(spoolDir, 'shard-0')).filter((f) => f.endsWith('.seg')).length).toBeGreaterThan(
      0,
    );

    const { audit, logs } = await faultAudit(prefix, testUrl(), { spoolDir });
    await waitFor('the spool to be replayed', () => audit.stats().recovered === events);
    const final = await audit.close();
    expect(final).toMatchObject({ captured: 0, indexed: 0, spooled: 0, inFlight: 0, recovered: events });
    expect(readdirSync(join(spoolDir, 'shard-0')).filter((f) => f.endsWith('.seg'))).toEqual([]);
    await expectStoredExactlyOnce(prefix, events);
    const replayed = logs.lines.filter((l) => l.startsWith('info Spool replayed')).length;
    console.log(
      `SIGKILL while the breaker is open: first process spooled ${events} and was killed; second ${JSON.stringify(final)} in ${replayed} segments`,
    );
  });

  it('the embedded default: no OpenSearch, AUDIT_HANDLE_SIGNALS drains to the spool on SIGTERM; configured later, it replays', async () => {
    const prefix = uniquePrefix('emb');
    const spoolDir = tempDir(prefix);
    const events = 400;
    const { child, output } = tsx('test/support/signal-child.ts', {
      EVENTS: String(events),
      PREFIX: prefix,
      SPOOL_DIR: spoolDir,
      AUDIT_HANDLE_SIGNALS: 'true',
    });
    const exit = exited(child);
    await waitFor('the child to capture its events', () => output().includes('READY'), 60_000);
    child.kill('SIGTERM');
    const { signal } = await exit;
    expect(signal, output()).toBe('SIGTERM');
    const closed = /"msg":"Audit system closed",(.*)}/.exec(output());
    expect(closed, output()).not.toBeNull();
    expect(output()).toContain(`"captured":${events},"indexed":0,"deadLettered":0`);
    expect(output()).toContain(`"spooled":${events},"inFlight":0`);

    let spooled = 0;
    for await (const segment of readSpool(spoolDir)) {
      expect(segment.corruptTail).toBe(false);
      spooled += segment.documents.length;
      expect(segment.documents[0]?.source.action).toBe('groups.read');
    }
    expect(spooled).toBe(events);

    const { audit } = await faultAudit(prefix, testUrl(), { spoolDir });
    await waitFor('the spool to be replayed', () => audit.stats().recovered === events);
    await audit.close();
    await expectStoredExactlyOnce(prefix, events);
  });
});
