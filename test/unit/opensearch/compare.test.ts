// How the installers compare what OpenSearch holds with what they would write.
import { describe, expect, it } from 'vitest';
import { differences, flatSettings } from '../../../src/opensearch/compare.js';
import { lifecyclePolicy } from '../../../src/opensearch/lifecycle.js';

describe('comparison', () => {
  it('compares as OpenSearch spells it: settings flattened to strings, permission lists as sets', () => {
    expect(flatSettings({ number_of_shards: 1, 'index.codec': 'best_compression' })).toEqual(
      flatSettings({ index: { number_of_shards: '1', codec: 'best_compression' } }),
    );
    expect(differences({ a: ['x', 'y'] }, { a: ['y', 'x'] }, { unordered: true })).toEqual([]);
    expect(differences({ a: 1 }, { a: 1, b: 2 })).toEqual(['b: 2 → absent']);
    expect(differences({ a: 1 }, { a: 1, b: 2 }, { ignoreExtra: true })).toEqual([]);
    expect(
      differences(lifecyclePolicy().policy, lifecyclePolicy({ warmAfterDays: 7 }).policy, {
        ignoreExtra: true,
      }),
    ).toHaveLength(2);
  });
});
