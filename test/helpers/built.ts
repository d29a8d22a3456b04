import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Tests that run the CLI or the library as a user would use the build (dist/), which `npm test`'s set-up makes. */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function builtCli(): string {
  return join(root, 'dist', 'bin', 'regtest-harness.js');
}

export function builtLibrary(): string {
  return join(root, 'dist', 'harness', 'index.js');
}

export function buildSkipReason(): string | false {
  return existsSync(builtCli()) ? false : 'dist/ is not built: run `npm run build` (npm test does it)';
}
