/**
 * Issue 10's smaller problems, each reproduced: a path-like --version, a bad topology caught
 * only after a binary was resolved, a chmod +x suggested for /etc/passwd, the Debian wrapper
 * running $(…) from its cache path, probe notes served stale after a rebuild in place.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { identifyBinary, resolveBitcoind } from '../harness/binary.js';
import { wrapperScript } from '../harness/provision/debian.js';
import { currentPlatform } from '../harness/provision/platform.js';
import { readProbeNotes, readProbeNotesCached } from '../tracing/elf-notes.js';
import { runCli } from './helpers/cli.js';
import { coreBuilds } from './helpers/core-builds.js';

const scratch: string[] = [];
afterEach(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hardening-input-'));
  scratch.push(dir);
  return dir;
}

describe('inputs that make no sense are refused first', () => {
  test('provision --version ../../../etc is a usage error, before any cache lookup', async () => {
    // Before the fix this printed a cached Knots and exited 0 (the cache lookup ran first).
    const result = await runCli('provision', '--version', '../../../etc');
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain("'../../../etc' is not a Bitcoin Core release version");
    const cacheDir = tempDir();
    await expect(resolveBitcoind({ version: '../x', cacheDir, source: 'release', provision: false })).rejects.toMatchObject({ code: 'BAD_OPTION' });
    expect(readdirSync(cacheDir)).toEqual([]); // nothing created, nothing looked up
  });

  test('run rejects a bad topology before resolving a bitcoind', async () => {
    const missing = join(tempDir(), 'no-such-bitcoind');
    const result = await runCli('run', 'handshake', '--topology', '2>0', '--bitcoind', missing);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/node 2/);
    expect(result.stderr).not.toContain('no-such-bitcoind'); // it never got as far as the binary
    const few = await runCli('run', 'handshake', '--nodes', '1', '--bitcoind', missing);
    expect(few.code).toBe(2);
    expect(few.stderr).not.toContain('no-such-bitcoind');
  });

  test('--bitcoind /etc/passwd is not bitcoind, and no chmod +x is suggested', async () => {
    const error = await identifyBinary('/etc/passwd', 'flag', '').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'NOT_BITCOIND' });
    expect(`${(error as Error).message} ${(error as { fix: string }).fix}`).not.toContain('chmod');
    const result = await runCli('provision', '--bitcoind', '/etc/passwd');
    expect(result.code).toBe(2);
    expect(result.stderr).not.toContain('chmod');
  });
});

describe('the Debian wrapper', () => {
  test('a cache path holding $(…), backticks and quotes runs nothing and reaches the loader intact', () => {
    const base = tempDir();
    const finalDir = join(base, "cache $(touch pwned-dollar) `touch pwned-tick` it's");
    mkdirSync(join(finalDir, 'ld'), { recursive: true });
    // A stand-in loader that prints the arguments it was given, one per line.
    writeFileSync(join(finalDir, 'ld', 'bitcoind'), '#!/bin/sh\nprintf "%s\\n" "$@"\n');
    chmodSync(join(finalDir, 'ld', 'bitcoind'), 0o755);
    const wrapper = join(base, 'wrapper');
    const spec = { package: 'bitcoin-knots', suite: 'sid', programs: ['bitcoind'], versionArgs: ['-version'], otherwise: '' };
    writeFileSync(wrapper, wrapperScript(spec, finalDir, 'bitcoind', currentPlatform()));
    chmodSync(wrapper, 0o755);
    const args = execFileSync(wrapper, ['-regtest', 'two words'], { cwd: base, encoding: 'utf8' }).split('\n');
    expect(existsSync(join(base, 'pwned-dollar'))).toBe(false);
    expect(existsSync(join(base, 'pwned-tick'))).toBe(false);
    expect(args.slice(0, 4)).toEqual(['--library-path', expect.stringContaining(`${finalDir}/root/usr/lib/`), '--argv0', 'bitcoind']);
    expect(args.slice(4, 7)).toEqual([join(finalDir, 'root', 'usr', 'bin', 'bitcoind'), '-regtest', 'two words']);
  });
});

const builds = coreBuilds();
describe.skipIf(builds.length < 2 && 'needs two shared Core builds (test/helpers/core-builds.ts) with different probe notes')('probe notes', () => {
  test('a binary rebuilt in place (same path, same inode) is read again', async () => {
    const [newer, older] = [builds[0]!, builds.at(-1)!];
    const path = join(tempDir(), 'bitcoind');
    copyFileSync(older.bitcoind, path);
    const inode = statSync(path).ino;
    const first = await readProbeNotesCached(path);
    expect(first).toEqual(await readProbeNotes(older.bitcoind));
    copyFileSync(newer.bitcoind, path); // truncates and rewrites the same inode, as a rebuild may
    expect(statSync(path).ino).toBe(inode);
    const expected = await readProbeNotes(newer.bitcoind);
    expect(expected).not.toEqual(first);
    expect(await readProbeNotesCached(path)).toEqual(expected);
  });
});
