import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { HarnessError } from '../common/errors.js';
import { isDirectory, makeScratchDir, publishInstall, withCacheLock } from './cache.js';
import { assertDownloadUrl, downloadToFile, fetchText, type DownloadTimeouts, type ProgressStream } from './download.js';
import { currentPlatform } from './platform.js';
import { describeVerification, signatureCheckPlan, verifySums, type SumsVerification } from './signature.js';

/**
 * Official Bitcoin Core releases: download, verify SHA256 against SHA256SUMS, extract into the cache.
 * These binaries carry the USDT tracepoints, which is why they are tried first.
 *
 * SHA256SUMS.asc is checked with gpgv when builder keys are configured (signature.ts); without
 * them the install is checksum-only, which catches corruption, not a compromised server, and the
 * progress output says so. Downloads are https only (http to loopback for a local mirror), and
 * redirects must stay on the same origin (download.ts).
 */

export const DEFAULT_RELEASE_VERSION = '29.2';
export const DEFAULT_RELEASE_BASE_URL = 'https://bitcoincore.org/bin';

export interface ReleaseOptions extends DownloadTimeouts {
  version?: string;
  /** `<base>/bitcoin-core-<v>/…`; default $REGTEST_HARNESS_RELEASE_BASE_URL or bitcoincore.org. */
  baseUrl?: string;
  cacheDir: string;
  env?: NodeJS.ProcessEnv;
  /** Where the \r progress meter goes when it is a TTY (default stderr). */
  progress?: ProgressStream;
  onProgress?: (line: string) => void;
}

export interface ReleaseInstall {
  bitcoindPath: string;
  version: string;
  tarballUrl: string;
  /** How SHA256SUMS was trusted; absent for a cache hit (checked when it was installed). */
  verification?: SumsVerification;
}

export function releaseBaseUrl(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return (explicit || env.REGTEST_HARNESS_RELEASE_BASE_URL || DEFAULT_RELEASE_BASE_URL).replace(/\/+$/, '');
}

function tarballName(version: string): string {
  return `bitcoin-${version}-${currentPlatform().releaseTriplet}.tar.gz`;
}

function installDir(cacheDir: string, version: string): string {
  return join(cacheDir, 'release', `bitcoin-core-${version}-${currentPlatform().releaseTriplet}`);
}

function bitcoindIn(dir: string, version: string): string {
  return join(dir, `bitcoin-${version}`, 'bin', 'bitcoind');
}

/** The cached release's bitcoind, if a completed install is there. */
export async function findCachedRelease(cacheDir: string, version = DEFAULT_RELEASE_VERSION): Promise<string | undefined> {
  validateReleaseVersion(version);
  const path = bitcoindIn(installDir(cacheDir, version), version);
  try {
    await access(path);
    return path;
  } catch {
    return undefined;
  }
}

/**
 * SHA256SUMS.asc checked with gpgv when builder keys are configured (signature.ts), else
 * checksum-only. The signatures are checked on the very bytes whose hashes are then used.
 */
async function checkSumsSignature(sumsText: string, folder: string, options: ReleaseOptions): Promise<SumsVerification> {
  const plan = await signatureCheckPlan(options.env ?? process.env);
  if ('why' in plan) return { kind: 'checksum-only', why: plan.why };
  const ascText = await fetchText(`${folder}/SHA256SUMS.asc`, options);
  const dir = await mkdtemp(join(tmpdir(), 'rh-sums-'));
  try {
    await writeFile(join(dir, 'SHA256SUMS'), sumsText);
    await writeFile(join(dir, 'SHA256SUMS.asc'), ascText);
    return await verifySums(join(dir, 'SHA256SUMS'), join(dir, 'SHA256SUMS.asc'), plan.keyring, `${folder}/SHA256SUMS`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `<sha256>  <file>` lines (sha256sum format, optionally `*file` for binary mode). */
export function parseSha256Sums(text: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^([0-9a-fA-F]{64})\s+\*?(\S.*?)\s*$/.exec(line);
    if (match?.[1] && match[2]) sums.set(match[2], match[1].toLowerCase());
  }
  return sums;
}

/** A release version like 29.2 or 28.0rc1: anything else (a path like ../../etc) is BAD_OPTION. */
export function validateReleaseVersion(version: string): void {
  if (!/^\d+\.\d+(\.\d+)?(rc\d+)?$/.test(version)) {
    throw new HarnessError('BAD_OPTION', `'${version}' is not a Bitcoin Core release version`, { fix: `pass a version like --version ${DEFAULT_RELEASE_VERSION}` });
  }
}

export async function provisionRelease(options: ReleaseOptions): Promise<ReleaseInstall> {
  const version = options.version ?? DEFAULT_RELEASE_VERSION;
  validateReleaseVersion(version);
  const base = releaseBaseUrl(options.baseUrl, options.env);
  assertDownloadUrl(base); // https, or http to loopback only: before anything else
  const folder = `${base}/bitcoin-core-${version}`;
  const file = tarballName(version);
  const tarballUrl = `${folder}/${file}`;
  const finalDir = installDir(options.cacheDir, version);
  const say = options.onProgress ?? (() => undefined);

  const cached = await findCachedRelease(options.cacheDir, version);
  if (cached) return { bitcoindPath: cached, version, tarballUrl };

  return withCacheLock(options.cacheDir, `release-${version}`, async () => {
    // Another process may have finished while we waited for the lock.
    const done = await findCachedRelease(options.cacheDir, version);
    if (done) return { bitcoindPath: done, version, tarballUrl };

    const sumsText = await fetchText(`${folder}/SHA256SUMS`, options);
    const verification = await checkSumsSignature(sumsText, folder, options);
    say(describeVerification(verification));
    const sums = parseSha256Sums(sumsText);
    const expected = sums.get(file);
    if (!expected) {
      throw new HarnessError('PROVISION_FAILED', `${folder}/SHA256SUMS does not list ${file}`, {
        fix: `check that Bitcoin Core ${version} has a build for ${currentPlatform().releaseTriplet}, or pick another --version`,
      });
    }

    await mkdir(join(options.cacheDir, 'release'), { recursive: true });
    const scratch = await makeScratchDir(join(options.cacheDir, 'release'), `core-${version}`);
    try {
      const tarballPath = join(scratch, file);
      say(`downloading ${tarballUrl}`);
      const { sha256 } = await downloadToFile(tarballUrl, tarballPath, { ...options, progress: options.progress ?? process.stderr, label: file });
      if (sha256 !== expected) {
        throw new HarnessError('CHECKSUM_MISMATCH', `${file} from ${tarballUrl} has SHA256 ${sha256}, but SHA256SUMS says ${expected}`, {
          fix: 'retry (a truncated or tampered download), and if it persists check --release-base-url / REGTEST_HARNESS_RELEASE_BASE_URL points at a genuine mirror',
        });
      }
      // Extract only after the hash matched; then drop the tarball so the install is just the tree.
      const tree = join(scratch, 'tree');
      await mkdir(tree);
      await execa('tar', ['-xzf', tarballPath, '-C', tree, '--no-same-owner']).catch((error: unknown) => {
        throw new HarnessError('PROVISION_FAILED', `cannot extract ${file}: ${(error as Error).message.split('\n')[0]}`, {
          fix: 'make sure the system `tar` and `gzip` are installed and the cache directory has free space',
          cause: error,
        });
      });
      await rm(tarballPath);
      if (!(await isDirectory(join(tree, `bitcoin-${version}`, 'bin')))) {
        throw new HarnessError('PROVISION_FAILED', `${file} has no bitcoin-${version}/bin/ directory`, {
          fix: 'check that --release-base-url serves official Bitcoin Core release tarballs',
        });
      }
      await publishInstall(tree, finalDir);
      say(`installed Bitcoin Core ${version} into ${finalDir}`);
      return { bitcoindPath: bitcoindIn(finalDir, version), version, tarballUrl, verification };
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }, { signal: options.signal, onWait: (pid) => say(`waiting for pid ${pid ?? '?'}, which is provisioning Bitcoin Core ${version} into ${options.cacheDir}`) });
}
