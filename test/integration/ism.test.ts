// Index State Management on the real plugin: the lifecycle policy `pdaas-audit setup` installs
// attaches itself to a new audit index, ISM's job initializes the index into the policy's first
// state (hot), and `health` and `indices` report it, all observed through ISM's explain API. The
// dev node runs ISM's job every minute, its smallest interval, so this takes one to two minutes.
// (Walking an index on through warm and cold to deletion takes a job run per step, about nine
// minutes; that test is not in this suite yet.)
//
// The plugin is not on Maven Central: the dev node installs it from ../shared/opensearch-plugins
// (or OPENSEARCH_DEV_ISM_ZIP). CI always has it and sets AUDIT_TEST_REQUIRE_ISM=1, so there a
// node without it fails this test; elsewhere the test says what is missing and skips.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { nodeEnv, pdaas } from '../support/cli.js';
import { testClient, uniquePrefix } from '../support/opensearch.js';

const ISM = 'opensearch-index-management';

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
      if (!(await ismInstalled())) {
        const why = `the test node has no ${ISM} plugin: the dev node installs it from ../shared/opensearch-plugins/ or OPENSEARCH_DEV_ISM_ZIP (docs/OPENSEARCH-DEV-NODE.md)`;
        if (process.env.AUDIT_TEST_REQUIRE_ISM === '1') throw new Error(why);
        console.warn(`ism.test.ts skipped: ${why}`);
        ctx.skip(why);
      }
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
});
