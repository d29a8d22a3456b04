/**
 * How far a release download is trusted (issue 10): https only (http to loopback), no redirect to
 * another origin, SHA256SUMS.asc checked with gpgv against a keyring of builder keys when one is
 * configured, and a plain "checksum-only" warning when not. The signer is a throwaway key made
 * here with the real gpg (no builder keys can be fetched in this sandbox).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resolveBitcoind } from '../harness/binary.js';
import { provisionRelease } from '../harness/provision/release.js';
import { RELEASE_KEYRING_ENV } from '../harness/provision/signature.js';
import { startFakeReleaseServer, type FakeReleaseServer } from './helpers/provision-release-server.js';

const VERSION = '29.2';
const DUMMY_BITCOIND = '#!/bin/sh\necho "Bitcoin Core daemon version v29.2.0"\n';
const teardown: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (teardown.length) await teardown.pop()?.();
});
async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  teardown.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}
async function serve(options: Omit<Parameters<typeof startFakeReleaseServer>[0], 'version' | 'bitcoindScript'>): Promise<FakeReleaseServer> {
  const server = await startFakeReleaseServer({ version: VERSION, bitcoindScript: DUMMY_BITCOIND, ...options });
  teardown.push(() => server.close());
  return server;
}
const releaseDirs = async (cacheDir: string) => (await readdir(join(cacheDir, 'release')).catch(() => [] as string[])).filter((n) => !n.endsWith('.lock'));

const gpgMissing = (() => {
  try {
    execFileSync('gpg', ['--version'], { stdio: 'ignore' });
    execFileSync('gpgv', ['--version'], { stdio: 'ignore' });
    return false;
  } catch {
    return 'gpg/gpgv are not installed (apt-get install gpg)';
  }
})();

describe('release downloads: transport', () => {
  it('refuses an http:// base URL to a non-loopback host before any request', async () => {
    const cacheDir = await tempDir('rh-trust-cache-');
    const error = await provisionRelease({ version: VERSION, baseUrl: 'http://example.org/bin', cacheDir, env: {} }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'BAD_OPTION', message: expect.stringContaining('only https://') });
    expect(await releaseDirs(cacheDir)).toEqual([]);
  });

  it('refuses a redirect to another origin', async () => {
    const elsewhere = await serve({});
    const redirector = await serve({ redirectTo: elsewhere.baseUrl });
    const cacheDir = await tempDir('rh-trust-cache-');
    const error = await provisionRelease({ version: VERSION, baseUrl: redirector.baseUrl, cacheDir, env: {} }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PROVISION_FAILED', message: expect.stringContaining('another origin') });
    expect(elsewhere.requests).toEqual([]); // never followed
  });

  it('without builder keys it installs, and says plainly that it is checksum-only', async () => {
    const server = await serve({});
    const cacheDir = await tempDir('rh-trust-cache-');
    const lines: string[] = [];
    const binary = await resolveBitcoind({ source: 'release', version: VERSION, releaseBaseUrl: server.baseUrl, cacheDir, env: {}, onProgress: (l) => lines.push(l) });
    expect(lines.join('\n')).toMatch(/checksum-only: .*signatures were not checked.*REGTEST_HARNESS_RELEASE_KEYRING/);
    expect(binary.reason).toContain('checksum-only');
  });
});

describe.skipIf(gpgMissing)('release downloads: SHA256SUMS.asc with gpgv', () => {
  let keyring: string;
  let sign: (sums: string) => Promise<string>;
  let strangerSign: (sums: string) => Promise<string>;
  beforeAll(async () => {
    const home = await mkdtemp(join(tmpdir(), 'rh-gnupg-'));
    const strangerHome = await mkdtemp(join(tmpdir(), 'rh-gnupg-'));
    const makeKey = (gnupgHome: string, uid: string) =>
      execFileSync('gpg', ['--homedir', gnupgHome, '--batch', '--passphrase', '', '--quick-gen-key', uid, 'ed25519', 'sign', 'never'], { stdio: 'ignore' });
    makeKey(home, 'Test Builder <builder@example.invalid>');
    makeKey(strangerHome, 'Stranger <stranger@example.invalid>');
    keyring = join(home, 'builders.gpg');
    execFileSync('gpg', ['--homedir', home, '--batch', '--output', keyring, '--export']);
    const signer = (gnupgHome: string) => async (sums: string) => {
      const file = join(gnupgHome, 'SHA256SUMS');
      await writeFile(file, sums);
      return execFileSync('gpg', ['--homedir', gnupgHome, '--batch', '--armor', '--detach-sign', '--output', '-', file], { encoding: 'utf8' });
    };
    sign = signer(home);
    strangerSign = signer(strangerHome);
    return async () => {
      await rm(home, { recursive: true, force: true });
      await rm(strangerHome, { recursive: true, force: true });
    };
  });

  it('a good builder signature is required and reported', async () => {
    const server = await serve({ sign: (s) => sign(s) });
    const cacheDir = await tempDir('rh-trust-cache-');
    const install = await provisionRelease({ version: VERSION, baseUrl: server.baseUrl, cacheDir, env: { [RELEASE_KEYRING_ENV]: keyring } });
    expect(install.verification).toEqual({ kind: 'signed', goodSignatures: ['Test Builder <builder@example.invalid>'] });
    expect(server.requests).toContain(`/bitcoin-core-${VERSION}/SHA256SUMS.asc`);
  });

  it('a SHA256SUMS changed after signing is refused before the tarball is fetched', async () => {
    const server = await serve({ sign: (s) => sign(s), tamperSums: (s) => s.replace(/^[0-9a-f]{64}  bitcoin-29\.2-(?!riscv)/m, `${'f'.repeat(64)}  bitcoin-29.2-`) });
    const cacheDir = await tempDir('rh-trust-cache-');
    const error = await provisionRelease({ version: VERSION, baseUrl: server.baseUrl, cacheDir, env: { [RELEASE_KEYRING_ENV]: keyring } }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CHECKSUM_MISMATCH', message: expect.stringContaining('bad signature') });
    expect(server.requests.some((r) => r.endsWith('.tar.gz'))).toBe(false);
    expect(await releaseDirs(cacheDir)).toEqual([]);
  });

  it('a signature by a key outside the keyring counts for nothing', async () => {
    const server = await serve({ sign: (s) => strangerSign(s) });
    const cacheDir = await tempDir('rh-trust-cache-');
    const error = await provisionRelease({ version: VERSION, baseUrl: server.baseUrl, cacheDir, env: { [RELEASE_KEYRING_ENV]: keyring } }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CHECKSUM_MISMATCH', message: expect.stringContaining('no good signature') });
  });
});
