import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

/**
 * The machine is shared: a test that writes a fixed name in the system temp dir (as
 * report-html.test.ts once wrote /tmp/report-screenshot.png) collides with parallel runs and,
 * run as root, follows whatever symlink another user planted there. Tests make their own
 * directory (mkdtemp) instead. This scans the test sources for fixed /tmp paths.
 */
const testDir = dirname(fileURLToPath(import.meta.url));

/** Literal /tmp paths that name no file anyone writes (a path the code only validates). */
const NOT_WRITTEN = new Set(["test/bpftrace-program.test.ts: '/tmp/a b/bitcoind'"]);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'fixtures' ? [] : sources(path);
    return /\.(ts|mjs)$/.test(entry.name) ? [path] : [];
  });
}

/** `'/tmp/…'` literals, and `join(tmpdir(), '<fixed name>')` that is not handed to mkdtemp. */
export function fixedTempPaths(file: string, text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(/(['"`])\/tmp\/[^'"`]*\1/g)) found.push(`${file}: ${match[0]}`);
  for (const match of text.matchAll(/(mkdtemp(?:Sync)?\(\s*)?join\(\s*(?:os\.)?tmpdir\(\),\s*(['"`])[^'"`]*\2\s*\)/g)) {
    if (!match[1]) found.push(`${file}: ${match[0]}`);
  }
  return found.filter((entry) => !NOT_WRITTEN.has(entry));
}

describe('tests keep to their own temp dirs', () => {
  test('no test source names a fixed path in the system temp dir', () => {
    const root = join(testDir, '..');
    const self = fileURLToPath(import.meta.url); // its own examples below are strings, not paths
    const offenders = sources(testDir).filter((path) => path !== self).flatMap((path) => fixedTempPaths(relative(root, path), readFileSync(path, 'utf8')));
    expect(offenders).toEqual([]);
  });

  test('the scan finds the screenshot path report-html.test.ts used to write', () => {
    expect(fixedTempPaths('x.test.ts', "const SHOT = '/tmp/report-screenshot.png';")).toEqual(["x.test.ts: '/tmp/report-screenshot.png'"]);
    expect(fixedTempPaths('x.test.ts', "await writeFile(join(tmpdir(), 'shot.png'), png);")).toEqual(["x.test.ts: join(tmpdir(), 'shot.png')"]);
    expect(fixedTempPaths('x.test.ts', "await mkdtemp(join(tmpdir(), 'rh-doctor-'));")).toEqual([]);
  });
});
