import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The version matrix (every shared Core build) is its own run: npm run test:matrix.
    exclude: ['test/matrix/**', '**/node_modules/**'],
    // Forks, not threads: each worker is a process we can signal, and node children die with it.
    pool: 'forks',
    // One bpftrace per bitcoind binary for the whole run, shared by every worker (when USDT can run here).
    globalSetup: ['./harness/vitest/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
