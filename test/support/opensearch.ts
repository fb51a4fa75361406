// Helpers for integration tests: a client for the test node and unique index prefixes, so test
// files never see each other's documents. Prefixes do not start with `audit-`, so a test template
// never overlaps the production `audit-*` template (equal priorities on overlapping patterns fail).
import { randomBytes } from 'node:crypto';
import { Client } from '@opensearch-project/opensearch';
import { eventMappings } from '@pdaas/audit/opensearch';
import { inject } from 'vitest';

export function testUrl(): string {
  return inject('opensearchUrl');
}

export function testClient(): Client {
  return new Client({ node: testUrl() });
}

/** The event indices of a prefix: `<prefix>-*` without the hash chains' checkpoint indices. */
export function eventsOf(prefix: string): string {
  return `${prefix}-*,-${prefix}-checkpoints-*`;
}

export function uniquePrefix(label: string): string {
  return `t${randomBytes(4).toString('hex')}-${label}`;
}

/**
 * Creates today's index of `prefix` (service `api`) with actor_id mapped as an integer, so events
 * with string actor ids are refused per item (a mapping conflict, 400). Returns the index name.
 */
export async function createConflictingIndex(prefix: string): Promise<string> {
  const index = `${prefix}-api-${new Date().toISOString().slice(0, 10)}`;
  await testClient().indices.create({
    index,
    body: {
      settings: { number_of_shards: 1, number_of_replicas: 0 },
      mappings: {
        ...eventMappings,
        properties: { ...eventMappings.properties, actor_id: { type: 'integer' } },
      },
    } as never,
  });
  return index;
}
