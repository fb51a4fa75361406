import { defineConfig } from 'vitest/config';

// The lost-quorum cluster scenario alone (`npm run test:cluster-quorum`): not part of `npm test`
// or CI until it passes reliably on two cores (test/cluster-quorum/quorum.test.ts says why).
export default defineConfig({
  test: { include: ['test/cluster-quorum/**/*.test.ts'], fileParallelism: false, testTimeout: 600_000 },
});
