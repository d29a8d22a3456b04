import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The bundle itself is the harness's one (harness/failure-bundle.ts); here: where the fixture writes it. */
export { failureBundle } from '../failure-bundle.js';

/** Where bundles are written: $REGTEST_HARNESS_FAILURE_DIR, else .regtest-harness/failures under the cwd. */
export function failureDir(): string {
  return process.env.REGTEST_HARNESS_FAILURE_DIR ?? join(process.cwd(), '.regtest-harness', 'failures');
}

/** Write a bundle to a file named after the test; returns its path. */
export async function writeFailureBundle(testName: string, text: string): Promise<string> {
  const dir = failureDir();
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${testName.replace(/[^\w.-]+/g, '_').slice(0, 120)}.txt`);
  await writeFile(file, text);
  return file;
}
