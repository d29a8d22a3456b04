import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveBitcoind } from '../harness/binary.js';
import { HarnessError } from '../harness/common/errors.js';
import { currentPlatform } from '../harness/provision/platform.js';
import { parseSha256Sums, provisionRelease } from '../harness/provision/release.js';
import { findRealBitcoind } from './helpers/provision-real-bitcoind.js';
import { closedPortUrl, startFakeReleaseServer, type FakeReleaseServer } from './helpers/provision-release-server.js';

const VERSION = '29.2';
const teardown: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (teardown.length) await teardown.pop()?.();
});

async function tempCache(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rh-release-cache-'));
  teardown.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function serve(options: Parameters<typeof startFakeReleaseServer>[0]): Promise<FakeReleaseServer> {
  const server = await startFakeReleaseServer(options);
  teardown.push(() => server.close());
  return server;
}

async function rejection(promise: Promise<unknown>): Promise<HarnessError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(HarnessError);
  return error as HarnessError;
}

/** Everything in the cache except lock files would be leftovers of a failed install. */
async function cacheEntries(cacheDir: string): Promise<string[]> {
  const top = await readdir(cacheDir).catch(() => [] as string[]);
  const release = await readdir(join(cacheDir, 'release')).catch(() => [] as string[]);
  return [...top.filter((n) => n !== 'release'), ...release.map((n) => `release/${n}`)];
}

const DUMMY_BITCOIND = '#!/bin/sh\necho "Bitcoin Core daemon version v29.2.0"\n';

describe('official release provisioning against a local server', () => {
  it('downloads, verifies, extracts; the binary runs -version; the next call is a cache hit', async (ctx) => {
    const real = await findRealBitcoind();
    if (!real) return ctx.skip('no real bitcoind to wrap (set BITCOIND, put one on PATH, or run regtest-harness provision)');
    const server = await serve({ version: VERSION, bitcoindScript: `#!/bin/sh\nexec '${real.path}' "$@"\n` });
    const cacheDir = await tempCache();

    const binary = await resolveBitcoind({ source: 'release', version: VERSION, releaseBaseUrl: server.baseUrl, cacheDir });
    expect(binary.source).toBe('release');
    const installName = `bitcoin-core-${VERSION}-${currentPlatform().releaseTriplet}`;
    expect(binary.path).toBe(join(cacheDir, 'release', installName, `bitcoin-${VERSION}`, 'bin', 'bitcoind'));
    expect(binary.reason).toContain(`${server.baseUrl}/bitcoin-core-${VERSION}/${server.tarballName}`);
    const { stdout } = await execa(binary.path, ['-version']);
    expect(stdout.split('\n')[0]).toBe(real.versionLine);
    expect(binary.versionLine).toBe(real.versionLine);
    expect(server.requests).toEqual([`/bitcoin-core-${VERSION}/SHA256SUMS`, `/bitcoin-core-${VERSION}/${server.tarballName}`]);
    // Only the finished install remains: no tarball, no scratch dir, no lock.
    expect(await cacheEntries(cacheDir)).toEqual([`release/${installName}`]);

    const again = await resolveBitcoind({ source: 'release', version: VERSION, releaseBaseUrl: server.baseUrl, cacheDir });
    expect(again).toMatchObject({ source: 'cache', path: binary.path });
    expect(server.requests).toHaveLength(2);
  });

  it('a tarball whose hash differs from SHA256SUMS is refused before extraction, leaving nothing behind', async () => {
    const wrong = 'ab'.repeat(32);
    const server = await serve({ version: VERSION, bitcoindScript: DUMMY_BITCOIND, advertisedSha256: wrong });
    const cacheDir = await tempCache();
    const error = await rejection(resolveBitcoind({ source: 'release', version: VERSION, releaseBaseUrl: server.baseUrl, cacheDir }));
    expect(error.code).toBe('CHECKSUM_MISMATCH');
    expect(error.message).toContain(server.tarballName);
    expect(error.message).toContain(wrong);
    expect(error.message).toContain(server.sha256);
    expect(error.fix).toMatch(/retry/);
    expect(await cacheEntries(cacheDir)).toEqual([]);
  });

  it('with no source named, a checksum mismatch is not papered over by falling back to Debian', async () => {
    const server = await serve({ version: VERSION, bitcoindScript: DUMMY_BITCOIND, advertisedSha256: 'cd'.repeat(32) });
    const cacheDir = await tempCache();
    const error = await rejection(resolveBitcoind({ env: { PATH: '/nonexistent' }, version: VERSION, releaseBaseUrl: server.baseUrl, cacheDir }));
    expect(error.code).toBe('CHECKSUM_MISMATCH');
  });

  it('an unreachable base URL fails with PROVISION_FAILED naming the URL and the alternatives', async () => {
    const baseUrl = await closedPortUrl();
    const cacheDir = await tempCache();
    const error = await rejection(resolveBitcoind({ source: 'release', version: VERSION, releaseBaseUrl: baseUrl, cacheDir }));
    expect(error.code).toBe('PROVISION_FAILED');
    expect(error.message).toContain(`${baseUrl}/bitcoin-core-${VERSION}/SHA256SUMS`);
    expect(error.message).toMatch(/ECONNREFUSED/);
    expect(error.fix).toMatch(/--release-base-url|--source debian|--bitcoind/);
    expect(await cacheEntries(cacheDir)).toEqual([]);
  });

  it('a version the server does not have fails with PROVISION_FAILED (HTTP 404)', async () => {
    const server = await serve({ version: VERSION, bitcoindScript: DUMMY_BITCOIND });
    const cacheDir = await tempCache();
    const error = await rejection(provisionRelease({ version: '28.1', baseUrl: server.baseUrl, cacheDir }));
    expect(error.code).toBe('PROVISION_FAILED');
    expect(error.message).toContain('HTTP 404');
  });

  it('progress goes to a TTY as \\r-updated lines and is silent otherwise', async () => {
    for (const isTTY of [true, false]) {
      const server = await serve({ version: VERSION, bitcoindScript: DUMMY_BITCOIND });
      const written: string[] = [];
      const sink = new Writable({
        write(chunk, _encoding, callback) {
          written.push(String(chunk));
          callback();
        },
      });
      const progress = Object.assign(sink, { isTTY });
      await provisionRelease({ version: VERSION, baseUrl: server.baseUrl, cacheDir: await tempCache(), progress });
      if (isTTY) expect(written.join('')).toMatch(/^\r.*100%/s);
      else expect(written).toEqual([]);
    }
  });

  it('concurrent provisioning into one cache downloads once and yields one install', async () => {
    const server = await serve({ version: VERSION, bitcoindScript: DUMMY_BITCOIND });
    const cacheDir = await tempCache();
    const results = await Promise.all([1, 2, 3].map(() => provisionRelease({ version: VERSION, baseUrl: server.baseUrl, cacheDir })));
    expect(new Set(results.map((r) => r.bitcoindPath)).size).toBe(1);
    expect(server.requests.filter((r) => r.endsWith('.tar.gz'))).toHaveLength(1);
    expect(await cacheEntries(cacheDir)).toEqual([`release/bitcoin-core-${VERSION}-${currentPlatform().releaseTriplet}`]);
  });

  it('a lock left by a dead process is taken over and its scratch swept', async () => {
    const server = await serve({ version: VERSION, bitcoindScript: DUMMY_BITCOIND });
    const cacheDir = await tempCache();
    const dead = execa('true');
    await dead;
    await writeFile(join(cacheDir, `release-${VERSION}.lock`), `${dead.pid}\n`);
    // …and its half-done scratch directory is swept, while a live process's is left alone.
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(cacheDir, 'release', `.tmp-core-${VERSION}-${dead.pid}-0badcafe`), { recursive: true });
    const live = `.tmp-core-${VERSION}-${process.ppid}-00c0ffee`;
    await mkdir(join(cacheDir, 'release', live));
    const install = await provisionRelease({ version: VERSION, baseUrl: server.baseUrl, cacheDir });
    expect(install.bitcoindPath).toContain(cacheDir);
    expect((await cacheEntries(cacheDir)).sort()).toEqual([`release/${live}`, `release/bitcoin-core-${VERSION}-${currentPlatform().releaseTriplet}`].sort());
  });

  it('a lock held by a live process is waited for, not broken', async () => {
    const server = await serve({ version: VERSION, bitcoindScript: DUMMY_BITCOIND });
    const cacheDir = await tempCache();
    const lock = join(cacheDir, `release-${VERSION}.lock`);
    await writeFile(lock, `${process.ppid}\n`); // alive: the process that started this worker
    const waits: string[] = [];
    const pending = provisionRelease({ version: VERSION, baseUrl: server.baseUrl, cacheDir, onProgress: (l) => waits.push(l) });
    await new Promise((r) => setTimeout(r, 500));
    expect(server.requests).toEqual([]);
    expect(waits.some((l) => l.includes(`pid ${process.ppid}`))).toBe(true);
    await rm(lock);
    await pending;
    expect(server.requests).toHaveLength(2);
  });

  it('cancelling (Ctrl-C) stops a download that hangs, leaving nothing behind', async () => {
    const { createServer } = await import('node:http');
    const hanging = createServer(() => undefined); // accepts, never answers
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    teardown.push(async () => {
      hanging.closeAllConnections();
      await new Promise<void>((resolve) => hanging.close(() => resolve()));
    });
    const { port } = hanging.address() as import('node:net').AddressInfo;
    const cacheDir = await tempCache();
    const controller = new AbortController();
    const interrupt = new Error('received SIGINT');
    setTimeout(() => controller.abort(interrupt), 200);
    const outcome = await provisionRelease({ version: VERSION, baseUrl: `http://127.0.0.1:${port}`, cacheDir, connectMs: 60_000, signal: controller.signal }).catch((e: unknown) => e);
    expect(outcome).toBe(interrupt); // surfaced as the cancellation, not as a network failure
    expect(await cacheEntries(cacheDir)).toEqual([]);
  });

  it('SHA256SUMS parsing handles text and binary-mode lines', () => {
    const sums = parseSha256Sums(`${'A'.repeat(64)}  a.tar.gz\n${'b'.repeat(64)} *b.zip\ngarbage\n`);
    expect(sums.get('a.tar.gz')).toBe('a'.repeat(64));
    expect(sums.get('b.zip')).toBe('b'.repeat(64));
    expect(sums.size).toBe(2);
  });
});
