import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The version matrix (every shared Core build) is its own run: npm run test:matrix.
    exclude: ['test/matrix/**', '**/node_modules/**'],
    // Forks, not threads: each worker is a process we can signal, and node children die with it.
    pool: 'forks',
    // The specs mostly wait on bitcoind and bpftrace processes, not the CPU: three workers on this
    // 2-core machine cut the suite's wall time without starving them (vitest's default is
    // cores − 1, i.e. one worker here). Ports, datadirs and bpftrace sessions are per worker or shared safely.
    maxWorkers: 3,
    // A worker runs file after file in one process instead of a fresh one per file: the suite is
    // CPU-bound on 2 cores and per-file start-up (Node, vitest, our modules, bitcoin-core) was ~30 s
    // of it (vitest time 126 s -> 98 s here). Specs therefore keep no process-wide state of their
    // own between files: they restore env, pools and handlers in afterEach/afterAll.
    isolate: false,
    // One bpftrace per bitcoind binary for the whole run, shared by every worker (when USDT can run here).
    globalSetup: ['./harness/vitest/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
