// Helpers for integration tests: a client for the test node and unique index prefixes, so test
// files never see each other's documents. Prefixes do not start with `audit-`, so a test template
// never overlaps the production `audit-*` template (equal priorities on overlapping patterns fail).
import { randomBytes } from 'node:crypto';
import { Client } from '@opensearch-project/opensearch';
import { inject } from 'vitest';

export function testUrl(): string {
  return inject('opensearchUrl');
}

export function testClient(): Client {
  return new Client({ node: testUrl() });
}

export function uniquePrefix(label: string): string {
  return `t${randomBytes(4).toString('hex')}-${label}`;
}
