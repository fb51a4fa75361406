// The built CLI on the local side of the pipeline, against the real node: a real spool (an Audit
// with no OpenSearch) shown, refused while a live process holds it, replayed (twice, without a
// duplicate) and purged; real dead letters (a mapping conflict, as in
// faults/mapping-conflict.test.ts) listed and re-driven after the fix; and the dashboard the
// package ships, found from dist/.
import { cpSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type Audit, createAudit } from '@pdaas/audit';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../examples/hono/app.js';
import { storedEvents } from '../../scripts/opensearch/stored.js';
import { nodeEnv, pdaas } from '../support/cli.js';
import { faultAudit, settled, tempDir, waitFor } from '../support/faults.js';
import { createConflictingIndex, testClient, testUrl, uniquePrefix } from '../support/opensearch.js';

function spoolEnv(prefix: string, spoolDir: string) {
  return nodeEnv(prefix, { AUDIT_SPOOL_DIR: spoolDir, AUDIT_RETRY_BACKOFF_SECONDS: '0.05' });
}

/** The embedded default: an Audit without OpenSearch spools every event. */
async function spoolingAudit(prefix: string, spoolDir: string): Promise<Audit> {
  return createAudit({
    registry: new Registry(),
    logger: { info() {}, warn() {}, error() {} },
    indexPrefix: prefix,
    spoolDir,
    flushIntervalSeconds: 0.2,
  });
}

async function drive(audit: Audit, n: number, org: string, from = 0): Promise<void> {
  const app = createApp(audit);
  for (let i = from; i < from + n; i++) {
    await (await app.request(`/groups/g-${i}`, { headers: { 'x-organization-id': org } })).arrayBuffer();
  }
}

/** Documents of this prefix, and whether any event_id is there twice. */
async function stored(prefix: string): Promise<{ count: number; duplicates: unknown[] }> {
  const found = await storedEvents(testClient(), `${prefix}-*`);
  return { count: found.total, duplicates: found.duplicateEventIds };
}

describe('pdaas-audit spool', () => {
  it('shows the spool, refuses to replay under a live process, replays twice without a duplicate, purges', async () => {
    const prefix = uniquePrefix('clisp');
    const spoolDir = tempDir(prefix);
    const env = spoolEnv(prefix, spoolDir);
    const first = await spoolingAudit(prefix, spoolDir);
    await drive(first, 50, 'org-s');
    expect((await first.close()).spooled).toBe(50);

    const show = await pdaas(['spool', 'show', '--json', '--limit', '3'], env);
    expect(show.code).toBe(0);
    const s = JSON.parse(show.stdout);
    expect(s).toMatchObject({ dir: spoolDir, events: 50, corruptTails: 0, deadLetters: 0 });
    expect(s.segments.length).toBeGreaterThanOrEqual(1);
    expect(s.bytes).toBeGreaterThan(0);
    expect(s.oldest <= s.newest).toBe(true);
    expect(s.sample.map((e: { action: string }) => e.action)).toEqual([
      'groups.read',
      'groups.read',
      'groups.read',
    ]);
    const text = await pdaas(['spool', 'show', '--limit', '2'], env);
    expect(text.stdout.split('\n')[0]).toMatch(new RegExp(`^spool ${spoolDir}: \\d+ segments?, 50 events, `));
    expect(text.stdout).toContain('first 2 of 50 events:');

    // A live process holds its segment open: replay and purge must not pull it from under it.
    const live = await spoolingAudit(prefix, spoolDir);
    try {
      await drive(live, 1, 'org-s', 50);
      await waitFor('the live event spooled', () => live.stats().spooled === 1, 30_000);
      const refused = await pdaas(['spool', 'replay'], env);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(new RegExp(`process ${process.pid}\\b.*Stop it first, or pass --force`));
      expect((await pdaas(['spool', 'purge', '--yes'], env)).code).toBe(1);
    } finally {
      await live.close();
    }

    const copy = tempDir(`${prefix}-copy`);
    cpSync(spoolDir, copy, { recursive: true });
    const replay = await pdaas(['spool', 'replay', '--json'], env);
    expect(replay.code).toBe(0);
    expect(JSON.parse(replay.stdout)).toEqual({
      dir: spoolDir,
      events: 51,
      indexed: 51,
      deadLettered: 0,
      dropped: 0,
      remaining: 0,
      corruptTails: 0,
      complete: true,
    });
    expect(await stored(prefix)).toEqual({ count: 51, duplicates: [] });
    expect(JSON.parse((await pdaas(['spool', 'show', '--json'], env)).stdout)).toMatchObject({
      events: 0,
      segments: [],
    });

    // The same events again (a copy of the spool): each is a 409 on its own _id, not a second document.
    const again = await pdaas(['spool', 'replay'], { ...env, AUDIT_SPOOL_DIR: copy });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('51 indexed, 0 dead-lettered, 0 left in the spool');
    expect(await stored(prefix)).toEqual({ count: 51, duplicates: [] });

    // Purge: refused without --yes when stdin is not a terminal, then done with --yes.
    const more = await spoolingAudit(prefix, spoolDir);
    await drive(more, 5, 'org-s', 100);
    await more.close();
    const noYes = await pdaas(['spool', 'purge'], env);
    expect(noYes.code).toBe(2);
    expect(noYes.stderr).toContain('spool purge: refusing without --yes when stdin is not a terminal');
    expect(JSON.parse((await pdaas(['spool', 'show', '--json'], env)).stdout).events).toBe(5);
    const purge = await pdaas(['spool', 'purge', '--yes', '--json'], env);
    expect(purge.code).toBe(0);
    expect(JSON.parse(purge.stdout)).toMatchObject({ events: 5 });
    expect(JSON.parse((await pdaas(['spool', 'show', '--json'], env)).stdout).events).toBe(0);
    expect((await pdaas(['spool', 'replay'], env)).stdout).toContain('nothing to replay');
  });

  it('replay stops (exit 1) and keeps the spool when OpenSearch is unreachable', async () => {
    const prefix = uniquePrefix('clisx');
    const spoolDir = tempDir(prefix);
    const audit = await spoolingAudit(prefix, spoolDir);
    await drive(audit, 5, 'org-x');
    await audit.close();
    const env = { ...spoolEnv(prefix, spoolDir), AUDIT_OPENSEARCH_PORT: '1', AUDIT_RETRY_ATTEMPTS: '0' };
    const replay = await pdaas(['spool', 'replay', '--json'], env);
    expect(replay.code).toBe(1);
    expect(JSON.parse(replay.stdout)).toMatchObject({ events: 5, indexed: 0, remaining: 5, complete: false });
    expect(JSON.parse((await pdaas(['spool', 'show', '--json'], env)).stdout).events).toBe(5);
  });
});

describe('pdaas-audit dead-letters', () => {
  it('lists a mapping conflict, fails again before the fix, and re-drives every event after it', async () => {
    const prefix = uniquePrefix('clidl');
    const client = testClient();
    // Today's index exists with actor_id mapped as an integer: string actor ids are refused for good.
    const index = await createConflictingIndex(prefix);
    const { audit } = await faultAudit(prefix, testUrl());
    const app = createApp(audit);
    for (let i = 0; i < 40; i++) {
      const actor = i % 4 === 0 ? `user-${i}` : String(i);
      await (
        await app.request(`/groups/g-${i}`, {
          headers: { 'x-organization-id': 'org-d', 'x-actor-id': actor },
        })
      ).arrayBuffer();
    }
    await settled(audit);
    const final = await audit.close();
    expect(final).toMatchObject({ indexed: 30, deadLettered: 10 });
    const env = spoolEnv(prefix, audit.config.spoolDir);

    const list = await pdaas(['dead-letters', 'list', '--json', '--limit', '2'], env);
    expect(list.code).toBe(0);
    const l = JSON.parse(list.stdout);
    expect(l).toMatchObject({
      total: 10,
      unreadable: 0,
      byStatus: { 400: 10 },
      byError: { mapper_parsing_exception: 10 },
      byIndex: { [index]: 10 },
    });
    expect(l.byReason).toEqual({ 'failed to parse field [actor_id] of type [integer]': 10 });
    expect(l.entries).toHaveLength(2);
    expect(String(l.entries[0].document.actor_id)).toMatch(/^user-/);
    const text = await pdaas(['dead-letters', 'list'], env);
    expect(text.stdout).toMatch(
      /by reason:\n +10 {2}failed to parse field \[actor_id\] of type \[integer\]\n/,
    );

    // Before the fix: every one fails again and stays, with its new time.
    const early = await pdaas(['dead-letters', 'redrive', '--json'], env);
    expect(early.code).toBe(1);
    expect(JSON.parse(early.stdout)).toMatchObject({
      attempted: 10,
      indexed: 0,
      failed: 10,
      remaining: 10,
      complete: false,
    });
    const still = JSON.parse((await pdaas(['dead-letters', 'list', '--json'], env)).stdout);
    expect(still.total).toBe(10);
    expect(still.entries[0].at > l.entries[0].at).toBe(true);

    // The fix: delete the conflicting index; the template recreates it with actor_id as a keyword.
    await client.indices.delete({ index });
    const redrive = await pdaas(['dead-letters', 'redrive'], env);
    expect(redrive.code).toBe(0);
    expect(redrive.stdout).toContain('redrove 10 dead letters: 10 indexed, 0 still in');
    expect(JSON.parse((await pdaas(['dead-letters', 'list', '--json'], env)).stdout)).toMatchObject({
      total: 0,
      files: [],
    });
    expect(await stored(prefix)).toEqual({ count: 10, duplicates: [] });
    const actors = await client.search({ index, body: { size: 20, _source: ['actor_id'] } as never });
    const hits = (actors.body as unknown as { hits: { hits: { _source: { actor_id: string } }[] } }).hits
      .hits;
    expect(hits.every((h) => h._source.actor_id.startsWith('user-'))).toBe(true);
    expect((await pdaas(['dead-letters', 'redrive'], env)).stdout).toContain('no dead letters');
  });
});

describe('pdaas-audit dashboards import (built CLI)', () => {
  it('sends the dashboard the package ships when --file is not given', async () => {
    // A stand-in for OpenSearch Dashboards (it cannot run here): it records the request. The
    // request itself is unit-tested in test/unit/cli/dashboards-import.test.ts; this checks that the
    // installed bin finds ops/opensearch-dashboards/audit-system-health.ndjson from dist/.
    let body = '';
    let url = '';
    const server = createServer((req, res) => {
      url = req.url ?? '';
      req.on('data', (c: Buffer) => {
        body += c.toString('utf8');
      });
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ success: true, successCount: 9 }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const r = await pdaas(['dashboards', 'import', '--url', `http://127.0.0.1:${port}`, '--overwrite']);
      expect(r.code).toBe(0);
      expect(url).toBe('/api/saved_objects/_import?overwrite=true');
      const shipped = readFileSync(
        join(
          new URL('../..', import.meta.url).pathname,
          'ops/opensearch-dashboards/audit-system-health.ndjson',
        ),
        'utf8',
      );
      expect(body).toContain('filename="audit-system-health.ndjson"');
      expect(body).toContain(shipped);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
