/**
 * The CLI as npm installs it: package.json's bin, the bundle in dist/bin/ (scripts/bundle-cli.mjs),
 * run through a symlink as node_modules/.bin does, and writing to a reader that went away.
 */
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtCli, buildSkipReason } from './helpers/built.js';

const skip = buildSkipReason();

describe.skipIf(skip)(skip ? `the CLI bundle — skipped: ${skip}` : 'the CLI bundle', () => {
  it('is what package.json installs, and lists the scenarios through a symlink like node_modules/.bin', async () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(resolve(import.meta.dirname, '..', pkg.bin['regtest-harness']!)).toBe(builtCli());
    const dir = await mkdtemp(join(tmpdir(), 'regtest-bin-'));
    try {
      const link = join(dir, 'regtest-harness');
      await symlink(builtCli(), link);
      const result = await execa(process.execPath, [link, 'scenarios'], { reject: false });
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/^handshake\s+the version handshake/m);
      expect(result.stdout).toMatch(/^block-relay\s/m);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a reader that closed the pipe (`scenarios | head -1`) costs the output, not an unhandled EPIPE crash', async () => {
    const child = execa(process.execPath, [builtCli(), 'scenarios'], { reject: false, stdout: 'pipe', buffer: { stdout: false } });
    child.stdout!.destroy(); // our end is closed before the CLI writes its first line
    const result = await child;
    expect(result.stderr).not.toMatch(/EPIPE|Unhandled/);
    expect(result.exitCode).toBe(0);
  });
});
