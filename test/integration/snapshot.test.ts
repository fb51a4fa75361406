// Snapshots as the deployment guide configures them (a filesystem repository under path.repo):
// events stored through the pipeline, `pdaas-audit snapshot create` against the real node, the
// index deleted as an incident would, `snapshot restore`, and the same documents per organization.
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { drive, startApp, totalSent } from '../../examples/traffic.js';
import { storedEvents } from '../../scripts/opensearch/stored.js';
import { nodeEnv, pdaas } from '../support/cli.js';
import { faultAudit, finish } from '../support/faults.js';
import { testClient, testUrl, uniquePrefix } from '../support/opensearch.js';

describe('pdaas-audit snapshot', () => {
  it('snapshots the audit indices, restores a deleted one, and finds the same documents per organization', async () => {
    const root = inject('opensearchSnapshotRoot');
    expect(root, 'the node path.repo (AUDIT_TEST_SNAPSHOT_ROOT for a node from outside)').not.toBe('');
    const prefix = uniquePrefix('snap');
    const env = nodeEnv(prefix, { AUDIT_SERVICE_NAME: 'api' });
    const client = testClient();

    const { audit, registry } = await faultAudit(prefix, testUrl());
    const app = await startApp('hono', audit);
    const sent = await drive(app.url, 400, { orgs: 12, prefix, concurrency: 4 });
    const { final } = await finish(app, audit, registry);
    expect(final.indexed).toBe(totalSent(sent));
    const before = await storedEvents(client, `${prefix}-*`);
    expect(before.total).toBe(400);

    // Not registered yet, and no location: a usage error that says what to pass.
    const unregistered = await pdaas(['snapshot', 'create'], env);
    expect(unregistered.code).toBe(2);
    expect(unregistered.stderr).toContain('pass --location PATH');

    const location = join(root, prefix);
    const created = await pdaas(
      ['snapshot', 'create', '--location', location, '--name', `${prefix}-one`, '--json'],
      env,
    );
    expect(created.stderr).toContain(`registered filesystem repository ${prefix}-snapshots at ${location}`);
    expect(created.code, created.stderr).toBe(0);
    const result = JSON.parse(created.stdout);
    expect(result).toMatchObject({
      repository: `${prefix}-snapshots`,
      snapshot: `${prefix}-one`,
      state: 'SUCCESS',
    });
    expect(result.shards.done).toBe(result.shards.total);

    const listed = JSON.parse((await pdaas(['snapshot', 'list', '--json'], env)).stdout);
    const cat = await client.cat.indices({ index: `${prefix}-*`, format: 'json' });
    const names = (cat.body as Array<{ index?: string }>).map((i) => i.index as string).sort();
    // The day's events, and the month's checkpoints of their hash chains.
    expect(names).toHaveLength(2);
    const index = names.find((n) => !n.includes('-checkpoints-')) as string;
    expect(listed.snapshots).toEqual([
      expect.objectContaining({ name: `${prefix}-one`, state: 'SUCCESS', indices: names, shardsFailed: 0 }),
    ]);

    // An incident: the index is deleted.
    await client.indices.delete({ index });
    expect((await client.indices.exists({ index })).body).toBe(false);

    const restored = await pdaas(['snapshot', 'restore', `${prefix}-one`], env);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toContain(`restored 1 index from ${prefix}-one: ${index}`);
    const after = await storedEvents(client, `${prefix}-*`);
    expect(after.total).toBe(400);
    expect(Object.fromEntries(after.perOrg)).toEqual(Object.fromEntries(before.perOrg));
    expect(Object.fromEntries(after.perOrg)).toEqual(Object.fromEntries(sent));

    // A second restore finds the index present and leaves it alone.
    const again = await pdaas(['snapshot', 'restore', `${prefix}-one`], env);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(`${index}: present in the cluster, left alone`);
    expect(again.stdout).toContain('nothing to restore');

    const missing = await pdaas(['snapshot', 'restore', 'no-such-snapshot'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`no snapshot no-such-snapshot in repository ${prefix}-snapshots`);
    await client.close();
  }, 180_000);
});
