/**
 * Which bpftrace the tracer runs, and why: `$REGTEST_HARNESS_BPFTRACE` when set; else Debian 13's
 * bpftrace in the harness's private root (harness/provision/bpftrace-root.ts, set up by
 * scripts/setup.mjs) when it is there; else the system's. Its version decides the program's
 * shape (tracing/bpftrace/program.ts): `bpftrace --version` takes ~0.4 s here, so the private
 * root's version is read from its sidecar, and the system's is remembered on disk by path, inode,
 * mtime and size.
 */
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { defaultCacheDir, privateRootDir } from '../../harness/common/cache-dir.js';
import { compareVersions } from '../../harness/common/version.js';
import { cachedFact, fileKey, rememberFact } from '../../harness/common/file-keyed-cache.js';
import { DEFAULT_TIMEOUTS } from '../../harness/common/timing.js';
import { findOnPath } from '../../harness/common/find-on-path.js';

export const BPFTRACE_ENV = 'REGTEST_HARNESS_BPFTRACE';
const PRIVATE_PACKAGE = 'bpftrace';
/** From this version on, one probe body fits every string and a payload of up to max_strlen bytes. */
export const ONE_BODY_MIN_VERSION = '0.20';
/** A `--version` run (harness/common/timing.ts). */
const VERSION_TIMEOUT_MS = DEFAULT_TIMEOUTS.probeProcess;
const VERSION_CACHE = 'bpftrace-versions';

export type BpftraceSource = 'env' | 'private-root' | 'system';

export interface LocatedBpftrace {
  path: string;
  /** e.g. "0.23.2"; undefined when `--version` did not say. */
  version: string | undefined;
  source: BpftraceSource;
  /** One line: which bpftrace and why. */
  reason: string;
}

/** The private root's bpftrace wrapper, if a completed install is there. */
export function privateBpftracePath(cacheDir = defaultCacheDir()): string | undefined {
  const dir = privateRootDir(cacheDir, PRIVATE_PACKAGE);
  const path = dir && join(dir, 'bin', 'bpftrace');
  return path && existsSync(path) ? path : undefined;
}

function sidecarVersion(wrapper: string): string | undefined {
  try {
    const sidecar = JSON.parse(readFileSync(`${wrapper}.regtest-harness.json`, 'utf8')) as { packageVersion?: unknown };
    // Debian's "0.23.2-1": the upstream version is before the revision.
    return typeof sidecar.packageVersion === 'string' ? /^(\d+(?:\.\d+)*)/.exec(sidecar.packageVersion)?.[1] : undefined;
  } catch {
    return undefined;
  }
}

/** `bpftrace v0.17.0` → "0.17.0". */
export function parseBpftraceVersion(output: string): string | undefined {
  return /^bpftrace v?(\d+(?:\.\d+)*)/m.exec(output)?.[1];
}

/** The version of the bpftrace at `path`: remembered per (path, inode, mtime, size) in the cache dir (harness/common/file-keyed-cache.ts). */
export function bpftraceVersion(path: string, cacheDir = defaultCacheDir()): string | undefined {
  const fromSidecar = sidecarVersion(path);
  if (fromSidecar) return fromSidecar;
  const key = fileKey([path]);
  if (!key) return undefined;
  const known = cachedFact(VERSION_CACHE, key, cacheDir);
  if (known) return known;
  const result = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: VERSION_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'pipe'] });
  const version = parseBpftraceVersion(`${result.stdout ?? ''}`);
  if (version) rememberFact(VERSION_CACHE, key, version, cacheDir);
  return version;
}

/** The bpftrace to run here, or undefined when there is none. */
export function locateBpftrace(env: NodeJS.ProcessEnv = process.env): LocatedBpftrace | undefined {
  const fromEnv = env[BPFTRACE_ENV];
  if (fromEnv) {
    return { path: fromEnv, version: bpftraceVersion(fromEnv), source: 'env', reason: `${fromEnv}, from $${BPFTRACE_ENV}` };
  }
  const system = findOnPath('bpftrace');
  const systemVersion = system ? bpftraceVersion(system) : undefined;
  const systemSays = system ? `the system's ${system} is ${systemVersion ? `v${systemVersion}` : 'of unknown version'}` : 'there is no system bpftrace';
  const privatePath = privateBpftracePath(defaultCacheDir(env));
  if (privatePath) {
    const version = bpftraceVersion(privatePath);
    // The system's own, when it is as new: nothing to gain from the private root then.
    if (!(system && systemVersion && version && compareVersions(systemVersion, version) >= 0)) {
      return { path: privatePath, version, source: 'private-root', reason: `Debian 13's bpftrace v${version ?? '?'} from the private root ${privatePath} (${systemSays})` };
    }
  }
  if (!system) return undefined;
  const why = privatePath
    ? 'it is at least as new as the private root\'s'
    : systemVersion && compareVersions(systemVersion, ONE_BODY_MIN_VERSION) < 0
      ? `no private root with Debian 13's bpftrace (node scripts/setup.mjs provides one; until then payloads are cut at 200 bytes)`
      : 'it is new enough';
  return { path: system, version: systemVersion, source: 'system', reason: `${systemSays}; used because ${why}` };
}

/** Whether this bpftrace fits a whole hit in one probe body (bpftrace ≥ 0.20). */
export function supportsOneBody(version: string | undefined): boolean {
  return version !== undefined && compareVersions(version, ONE_BODY_MIN_VERSION) >= 0;
}
