import { describe, expect, it } from 'vitest';
import { writerRole } from '../../../src/opensearch/security.js';

describe('writer role', () => {
  it("the writer role is the deployment guide's least privilege", () => {
    expect(writerRole()).toEqual({
      cluster_permissions: ['cluster:monitor/health', 'indices:data/write/bulk'],
      index_permissions: [
        {
          index_patterns: ['audit-*'],
          allowed_actions: ['indices:data/write/index', 'indices:data/write/bulk[s]', 'indices:admin/create'],
        },
      ],
    });
  });
});
