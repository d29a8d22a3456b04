// Bundles the CLI (tsc's dist/harness/cli/main.js and everything it imports) into dist/bin/: one
// entry file plus a chunk per lazily loaded command, instead of the ~140 modules that Node 20's ESM
// loader would otherwise resolve, read and link one by one before a command's first step
// (`regtest-harness scenarios` 0.22 → 0.15 s, `run handshake` ~35 ms sooner; README "Benchmarks").
// npm packages stay imports. The library entry points (package.json "exports") stay tsc's output.
import { build } from 'esbuild';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'bin');
await rm(outdir, { recursive: true, force: true }); // no chunk of an earlier build is left to load
await build({
  entryPoints: { 'regtest-harness': join(root, 'dist', 'harness', 'cli', 'main.js') },
  outdir,
  bundle: true,
  splitting: true, // commands keep loading on demand (harness/cli/commands/index.ts)
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: true, // stack traces name the sources under `node --enable-source-maps`
  logLevel: 'warning',
});
