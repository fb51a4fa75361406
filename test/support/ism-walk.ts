// The ISM walk: an index taken through every state of the lifecycle policy `setup` installs (hot →
// warm → cold, read-only → deleted) with its ages cut to seconds. ISM moves one step per job run
// (every minute on the dev node, its smallest interval), about eight runs in all, so the global
// setup starts the walk as soon as the node is up and follows it while the other files run, and
// test/integration/ism.test.ts, which the sequencer runs last, judges what was seen.
import { writeFileSync } from 'node:fs';
import { Client } from '@opensearch-project/opensearch';
import { lifecyclePolicy } from '../../src/opensearch/lifecycle.js';

export interface IsmWalk {
  index: string;
  policy: string;
  /** Date.now() when the index was created. */
  startedAt: number;
}

export const ISM_PLUGIN = 'opensearch-index-management';

/** The policy setup installs, with the ages of its transitions in seconds instead of days. */
export function walkPolicy(prefix: string) {
  const body = lifecyclePolicy({ prefix });
  const ages = ['1s', '2s', '3s'];
  let i = 0;
  for (const state of body.policy.states)
    for (const t of state.transitions as Array<{ conditions: { min_index_age: string } }>)
      t.conditions.min_index_age = ages[i++] as string;
  return body;
}

/** Starts the walk on the node at `url`; undefined when the node has no ISM plugin. */
export async function startIsmWalk(url: string): Promise<IsmWalk | undefined> {
  const client = new Client({ node: url });
  try {
    const { body } = await client.cat.plugins({ format: 'json' });
    if (!(body as unknown as { component: string }[]).some((p) => p.component === ISM_PLUGIN))
      return undefined;
    const prefix = `ismwalk${Date.now().toString(36)}`;
    const policy = `${prefix}-lifecycle`;
    await client.transport.request({
      method: 'PUT',
      path: `/_plugins/_ism/policies/${policy}`,
      body: walkPolicy(prefix),
    });
    const index = `${prefix}-api-2026-12-02`;
    await client.indices.create({
      index,
      body: { settings: { number_of_shards: 1, number_of_replicas: 0 } } as never,
    });
    await client.index({ index, body: { event_id: 'walk-1', organization_id: 'org-1' }, refresh: true });
    return { index, policy, startedAt: Date.now() };
  } finally {
    await client.close();
  }
}

/** What the follower saw of the walk, written to `.cache/ism-walk.json` as it goes. */
export interface WalkRecord extends IsmWalk {
  /** The states ISM's explain API reported, each once, in the order seen. */
  states: string[];
  /** A write to the index in the cold state was refused with a cluster block. */
  coldWriteRefused: boolean;
  /** Date.now() when the index was found deleted; null while it exists. */
  deletedAt: number | null;
  /** A failed ISM step, if any. */
  failure: string | null;
}

export const WALK_FILE = new URL('../../.cache/ism-walk.json', import.meta.url).pathname;

/**
 * Follows the walk every few seconds for the whole test run (the test node is stopped for a while
 * by the outage test: a poll that fails is tried again) and records what it sees in WALK_FILE,
 * so the test can judge it whenever it runs. Returns a function that stops following.
 */
export function followIsmWalk(url: string, walk: IsmWalk): () => void {
  const record: WalkRecord = { ...walk, states: [], coldWriteRefused: false, deletedAt: null, failure: null };
  const save = () => writeFileSync(WALK_FILE, JSON.stringify(record, null, 2));
  save();
  const client = new Client({ node: url, requestTimeout: 5_000 });
  let busy = false;
  const poll = async () => {
    if (busy || record.deletedAt !== null) return;
    busy = true;
    try {
      if (!(await client.indices.exists({ index: walk.index })).body) {
        record.deletedAt = Date.now();
        return;
      }
      const res = await client.transport.request({
        method: 'GET',
        path: `/_plugins/_ism/explain/${walk.index}`,
      });
      const e = (
        res.body as Record<
          string,
          { state?: { name?: string }; action?: { failed?: boolean }; info?: { message?: string } }
        >
      )[walk.index];
      if (e?.action?.failed) record.failure = e.info?.message ?? 'failed';
      const state = e?.state?.name;
      if (state !== undefined && record.states.at(-1) !== state) record.states.push(state);
      if (state === 'cold' && !record.coldWriteRefused) {
        const s = await client.indices.getSettings({ index: walk.index, name: 'index.blocks.write' });
        const blocked = JSON.stringify(s.body).includes('"write":"true"');
        if (blocked) {
          const write = await client.index({ index: walk.index, body: { event_id: 'walk-2' } }).then(
            () => 'accepted',
            (err: { meta?: { body?: unknown } }) => JSON.stringify(err.meta?.body ?? err),
          );
          record.coldWriteRefused = write !== 'accepted' && write.includes('cluster_block_exception');
          if (write === 'accepted') record.failure = 'a write to the cold index was accepted';
        }
      }
    } catch {
      // The node is down for a while (the outage test): the next poll tries again.
    } finally {
      save();
      busy = false;
    }
  };
  const timer = setInterval(() => void poll(), 3_000);
  timer.unref();
  return () => {
    clearInterval(timer);
    void client.close();
  };
}
