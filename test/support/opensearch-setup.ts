// Vitest global setup for the integration project: gives every test file the URL of a real
// OpenSearch node. AUDIT_TEST_OPENSEARCH_URL points at one you run yourself; otherwise a fresh
// node is started from the project's cache (downloaded through Maven on first use) and stopped at
// the end. A node that cannot start fails the run: integration tests never skip.
import type { TestProject } from 'vitest/node';
import { DevNode } from '../../scripts/opensearch/dev-node.js';
import { followIsmWalk, type IsmWalk, startIsmWalk } from './ism-walk.js';

declare module 'vitest' {
  export interface ProvidedContext {
    opensearchUrl: string;
    /** Port of the node this setup started, or 0 when the URL was given from outside. */
    opensearchDevPort: number;
    /** The node's path.repo (snapshot repositories go under it); '' when unknown (a node from outside). */
    opensearchSnapshotRoot: string;
    /** The ISM walk started on the node (see ism-walk.ts), or null without the ISM plugin. */
    ismWalk: IsmWalk | null;
  }
}

export default async function setup(project: TestProject) {
  const given = process.env.AUDIT_TEST_OPENSEARCH_URL;
  if (given) {
    const res = await fetch(`${given}/_cluster/health?wait_for_status=yellow&timeout=30s`).catch(
      (err: Error) => {
        throw new Error(`AUDIT_TEST_OPENSEARCH_URL=${given} is not reachable: ${err.message}`);
      },
    );
    if (!res.ok)
      throw new Error(`AUDIT_TEST_OPENSEARCH_URL=${given} answered ${res.status} to _cluster/health`);
    project.provide('opensearchUrl', given);
    project.provide('opensearchDevPort', 0);
    project.provide('opensearchSnapshotRoot', process.env.AUDIT_TEST_SNAPSHOT_ROOT ?? '');
    const walk = await startIsmWalk(given);
    project.provide('ismWalk', walk ?? null);
    if (walk) return followIsmWalk(given, walk);
    return;
  }
  const node = new DevNode({
    name: 'test',
    port: Number(process.env.OPENSEARCH_TEST_PORT ?? 9260),
    fresh: true,
  });
  const url = await node.start();
  project.provide('opensearchUrl', url);
  project.provide('opensearchDevPort', node.port);
  project.provide('opensearchSnapshotRoot', node.snapshotRoot);
  const walk = await startIsmWalk(url);
  project.provide('ismWalk', walk ?? null);
  const stopFollowing = walk ? followIsmWalk(url, walk) : () => undefined;
  return async () => {
    stopFollowing();
    await node.stop();
  };
}
