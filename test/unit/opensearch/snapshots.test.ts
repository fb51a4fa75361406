import { describe, expect, it } from 'vitest';
import { defaultRepository, snapshotName } from '../../../src/opensearch/snapshots.js';

describe('snapshot names', () => {
  it('are the prefix and the UTC time, lowercase as OpenSearch requires', () => {
    expect(snapshotName('audit', new Date(Date.UTC(2026, 11, 2, 3, 4, 5)))).toBe('audit-2026.12.02-030405');
    expect(defaultRepository('audit')).toBe('audit-snapshots');
  });
});
