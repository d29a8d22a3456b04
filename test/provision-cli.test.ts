import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../harness/cli/main.js';
import { startFakeReleaseServer } from './helpers/provision-release-server.js';

async function cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on('data', (c: Buffer) => out.push(c.toString()));
  stderr.on('data', (c: Buffer) => err.push(c.toString()));
  const code = await main(argv, { stdout, stderr, signal: new AbortController().signal });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

const teardown: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (teardown.length) await teardown.pop()?.();
});

describe('regtest-harness provision', () => {
  it('--help lists every flag and the resolution order', async () => {
    const { code, stdout } = await cli(['provision', '--help']);
    expect(code).toBe(0);
    for (const flag of ['--source', '--version', '--release-base-url', '--bitcoind']) expect(stdout).toContain(flag);
    expect(stdout).toMatch(/1\. --bitcoind PATH[\s\S]*2\. the BITCOIND[\s\S]*3\. bitcoind on PATH[\s\S]*4\. a copy provisioned earlier[\s\S]*5\. provision one/);
  });

  it('a bad --source is a usage error (exit 2) naming the allowed values', async () => {
    const { code, stderr } = await cli(['provision', '--source', 'homebrew']);
    expect(code).toBe(2);
    expect(stderr).toContain("--source must be one of release, debian, got 'homebrew'");
  });

  it('--bitcoind: prints the path and the -version line on stdout, the reason on stderr', async () => {
    const script = join(await mkdtemp(join(tmpdir(), 'rh-cli-')), 'bitcoind');
    teardown.push(() => rm(join(script, '..'), { recursive: true, force: true }));
    const { writeFile } = await import('node:fs/promises');
    await writeFile(script, '#!/bin/sh\necho "Bitcoin Core daemon version v29.2.0"\n', { mode: 0o755 });
    const { code, stdout, stderr } = await cli(['provision', '--bitcoind', script]);
    expect(code).toBe(0);
    expect(stdout).toBe(`${script}\nBitcoin Core daemon version v29.2.0\n`);
    expect(stderr).toContain(`using --bitcoind ${script}`);
  });

  it('--source release against a server: installs into the cache from REGTEST_HARNESS_CACHE', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'rh-cli-cache-'));
    teardown.push(() => rm(cacheDir, { recursive: true, force: true }));
    const server = await startFakeReleaseServer({ version: '29.2', bitcoindScript: '#!/bin/sh\necho "Bitcoin Core daemon version v29.2.0"\n' });
    teardown.push(() => server.close());
    const saved = process.env.REGTEST_HARNESS_CACHE;
    process.env.REGTEST_HARNESS_CACHE = cacheDir;
    teardown.push(async () => {
      if (saved === undefined) delete process.env.REGTEST_HARNESS_CACHE;
      else process.env.REGTEST_HARNESS_CACHE = saved;
    });
    const { code, stdout, stderr } = await cli(['provision', '--source', 'release', '--release-base-url', server.baseUrl]);
    expect(code).toBe(0);
    const [path, versionLine] = stdout.trim().split('\n');
    expect(path?.startsWith(join(cacheDir, 'release'))).toBe(true);
    expect(versionLine).toBe('Bitcoin Core daemon version v29.2.0');
    expect(stderr).toMatch(/SHA256 verified/);
  });

  it('an unreachable release server: exit 2 with one line naming the URL and the fix', async () => {
    const { closedPortUrl } = await import('./helpers/provision-release-server.js');
    const cacheDir = await mkdtemp(join(tmpdir(), 'rh-cli-cache-'));
    teardown.push(() => rm(cacheDir, { recursive: true, force: true }));
    const base = await closedPortUrl();
    const saved = process.env.REGTEST_HARNESS_CACHE;
    process.env.REGTEST_HARNESS_CACHE = cacheDir;
    teardown.push(async () => {
      if (saved === undefined) delete process.env.REGTEST_HARNESS_CACHE;
      else process.env.REGTEST_HARNESS_CACHE = saved;
    });
    const { code, stderr } = await cli(['provision', '--source', 'release', '--release-base-url', base]);
    expect(code).toBe(2);
    expect(stderr).toContain(`regtest-harness provision: cannot download ${base}/bitcoin-core-29.2/SHA256SUMS`);
    expect(stderr).toMatch(/ — check the network/);
  });
});
