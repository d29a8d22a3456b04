import { defineConfig } from 'vitest/config';

/**
 * The version matrix: specs that run on every genuine Core build found in ../shared/bitcoin-core/
 * (test/helpers/core-builds.ts), one run per version. `npm run test:matrix`; .ci/run runs it after
 * `npm test`, which covers the newest build only.
 */
export default defineConfig({
  test: {
    include: ['test/matrix/**/*.test.ts'],
    pool: 'forks',
    globalSetup: ['./harness/vitest/global-setup.ts'],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
