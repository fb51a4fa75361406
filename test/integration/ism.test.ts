// Index State Management on the real plugin: the lifecycle policy `pdaas-audit setup` installs
// attaches itself to a new audit index, ISM's job initializes the index into the policy's first
// state (hot), and `health` and `indices` report it, all observed through ISM's explain API. The
// dev node runs ISM's job every minute, its smallest interval, so this takes one to two minutes.
// The walk through every state (hot → warm → cold, read-only → deleted) takes a job run per step,
// about eight minutes: the global setup starts it (test/support/ism-walk.ts) and this file, run
// last by the sequencer in vitest.config.ts, follows it to the end.
//
// The plugin is not on Maven Central: the dev node installs it from ../shared/opensearch-plugins
// (or OPENSEARCH_DEV_ISM_ZIP). CI always has it and sets AUDIT_TEST_REQUIRE_ISM=1, so there a
// node without it fails this test; elsewhere the test says what is missing and skips.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, inject, it } from 'vitest';
import { nodeEnv, pdaas } from '../support/cli.js';
import { WALK_FILE, type WalkRecord } from '../support/ism-walk.js';
import { testClient, uniquePrefix } from '../support/opensearch.js';

const ISM = 'opensearch-index-management';
const MISSING = `the test node has no ${ISM} plugin: the dev node installs it from ../shared/opensearch-plugins/ or OPENSEARCH_DEV_ISM_ZIP (docs/OPENSEARCH-DEV-NODE.md)`;

/** Fails in CI (AUDIT_TEST_REQUIRE_ISM=1), skips elsewhere, when the node has no ISM. */
function withoutIsm(ctx: { skip(note?: string): never }): never {
  if (process.env.AUDIT_TEST_REQUIRE_ISM === '1') throw new Error(MISSING);
  console.warn(`ism.test.ts skipped: ${MISSING}`);
  return ctx.skip(MISSING);
}

async function ismInstalled(): Promise<boolean> {
  const { body } = await testClient().cat.plugins({ format: 'json' });
  return (body as unknown as { component: string }[]).some((p) => p.component === ISM);
}

interface Explained {
  state?: { name?: string };
  action?: { name?: string; failed?: boolean };
  info?: { message?: string };
  policy_id?: string | null;
}

async function explain(index: string): Promise<Explained | undefined> {
  const res = await testClient().transport.request({
    method: 'GET',
    path: `/_plugins/_ism/explain/${index}`,
  });
  return (res.body as Record<string, Explained>)[index];
}

describe('index lifecycle on the ISM plugin', () => {
  it(
    'setup installs the policy; a new audit index is attached and initialized into hot; health and indices show it',
    async (ctx) => {
      if (!(await ismInstalled())) withoutIsm(ctx);
      const prefix = uniquePrefix('ism');
      const policy = `${prefix}-lifecycle`;
      const env = nodeEnv(prefix);
      const client = testClient();

      const setup = await pdaas(['setup'], env);
      expect(setup.code).toBe(0);
      expect(setup.stdout).toContain(`policy ${policy}: created`);
      expect((await pdaas(['setup'], env)).stdout).toContain(`policy ${policy}: unchanged`);

      // A new index is attached by the policy's ism_template, right after it is created.
      const index = `${prefix}-api-2026-12-02`;
      await client.index({ index, body: { event_id: 'e-1', organization_id: 'org-1' }, refresh: true });
      for (let i = 0; (await explain(index))?.policy_id !== policy; i++) {
        if (i >= 60) throw new Error(`${index} was not attached to ${policy} within 30 s`);
        await sleep(500);
      }
      const early = JSON.parse((await pdaas(['health', '--json'], env)).stdout);
      const before = early.checks.find((c: { name: string }) => c.name === 'lifecycle');
      expect(before.status).toBe('ok');
      // ISM's job initializes the index within its first run: before that it has no state.
      expect(before.detail).toMatch(new RegExp(`^1 index managed by ${policy} \\((initializing|hot) 1\\)$`));

      // ISM's job (every minute) initializes it into the policy's first state.
      const started = Date.now();
      let e = await explain(index);
      while (e?.state?.name === undefined) {
        expect(e?.action?.failed ?? false, `ISM failed: ${e?.info?.message}`).toBe(false);
        if (Date.now() - started > 4 * 60_000) throw new Error(`${index} not initialized after 4 minutes`);
        await sleep(2_000);
        e = await explain(index);
      }
      console.log(
        `ism.test.ts: ${index} in ${e.state.name} after ${((Date.now() - started) / 1000).toFixed(0)} s`,
      );
      expect(e.state.name).toBe('hot');
      expect(e.info?.message).toContain(`Successfully initialized policy: ${policy}`);

      const health = JSON.parse((await pdaas(['health', '--json'], env)).stdout);
      expect(health.checks.find((c: { name: string }) => c.name === 'lifecycle')).toEqual({
        name: 'lifecycle',
        status: 'ok',
        detail: `1 index managed by ${policy} (hot 1)`,
      });
      const list = JSON.parse((await pdaas(['indices', '--json'], env)).stdout);
      expect(list.indices.map((i: { index: string; lifecycle: string }) => [i.index, i.lifecycle])).toEqual([
        [index, 'hot'],
      ]);
      expect((await pdaas(['indices'], env)).stdout).toMatch(new RegExp(`^${index} .* hot$`, 'm'));
    },
    6 * 60_000,
  );

  it(
    'walks an index through every state of the policy: hot → warm → cold (read-only, writes refused) → deleted',
    async (ctx) => {
      const walk = inject('ismWalk');
      if (walk === null) withoutIsm(ctx);
      // The global setup follows the walk for the whole run (test/support/ism-walk.ts); this file
      // runs last, so most of the walk is behind it already. Wait for the end, then judge.
      const read = () => JSON.parse(readFileSync(WALK_FILE, 'utf8')) as WalkRecord;
      let record = read();
      while (record.deletedAt === null && record.failure === null) {
        if (Date.now() - walk.startedAt > 20 * 60_000)
          throw new Error(
            `${walk.index} not deleted 20 minutes after it was made; states seen: ${record.states.join(' → ')}`,
          );
        await sleep(3_000);
        record = read();
      }
      expect(record.failure, `ISM on ${walk.index}`).toBeNull();
      console.log(
        `ism.test.ts: ${walk.index} went ${record.states.join(' → ')} → deleted in ${(((record.deletedAt ?? 0) - walk.startedAt) / 1000).toFixed(0)} s`,
      );
      expect(record.states.filter((s) => ['hot', 'warm', 'cold'].includes(s))).toEqual([
        'hot',
        'warm',
        'cold',
      ]);
      expect(record.coldWriteRefused, 'the cold index refused a write').toBe(true);
    },
    25 * 60_000,
  );
});
