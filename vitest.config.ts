import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Integration files in vitest's usual order, but ism.test.ts last: it follows an ISM walk that the
 * global setup starts and that takes about eight minutes, so the other files run meanwhile.
 */
class IsmLast extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const last = (f: TestSpecification) => (f.moduleId.endsWith('/ism.test.ts') ? 1 : 0);
    return [...sorted].sort((a, b) => last(a) - last(b));
  }
}

// Two projects: unit tests (no services: no OpenSearch node, no Java; test/unit/<folder>/ mirrors
// src/<folder>/) and integration tests against a real OpenSearch node that
// test/support/opensearch-setup.ts starts unless AUDIT_TEST_OPENSEARCH_URL names one. A test that
// needs no node belongs in the unit project. Helpers both share live in test/support/.
export default defineConfig({
  test: {
    // Vitest reads the sequencer from the root config only.
    sequence: { sequencer: IsmLast },
    // The JSON report lets .ci/run print a plain 'N passed, N failed' line.
    reporters: ['default', 'json'],
    outputFile: { json: '.cache/vitest-report.json' },
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/support/opensearch-setup.ts'],
          // One node, two cores, and fault tests that stop the node: files run one at a time.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 240_000,
        },
      },
    ],
  },
});
