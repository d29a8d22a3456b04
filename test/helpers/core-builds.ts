import { lstatSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compareVersions } from '../../harness/common/version.js';

/**
 * Genuine Bitcoin Core builds with USDT, the ground truth for the usdt path: every `vX.Y…/bitcoind`
 * in $REGTEST_HARNESS_CORE_BUILDS, else in ../shared/bitcoin-core/ beside the project (where CI and
 * the developers' machines lay them). Discovered by listing, never hard-coded. The directory is
 * shared, so only regular files are taken (no symlinks followed).
 */
export interface CoreBuild {
  /** The directory's name, e.g. "v29.0rc3". */
  tag: string;
  /** "29.0rc3" without the v, for versionAtLeast. */
  version: string;
  bitcoind: string;
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function coreBuildsDir(): string {
  return process.env.REGTEST_HARNESS_CORE_BUILDS ? resolve(process.env.REGTEST_HARNESS_CORE_BUILDS) : resolve(root, '..', 'shared', 'bitcoin-core');
}

/** Oldest first. Empty when the directory is missing. */
export function coreBuilds(): CoreBuild[] {
  const dir = coreBuildsDir();
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  const builds: CoreBuild[] = [];
  for (const tag of entries) {
    if (!/^v\d+\.\d+/.test(tag)) continue;
    const bitcoind = join(dir, tag, 'bitcoind');
    try {
      if (!lstatSync(join(dir, tag)).isDirectory() || !lstatSync(bitcoind).isFile()) continue;
    } catch {
      continue;
    }
    builds.push({ tag, version: tag.slice(1), bitcoind });
  }
  return builds.sort((a, b) => compareVersions(a.version, b.version) || a.tag.localeCompare(b.tag));
}

/** The newest build (what `npm test` runs the usdt specs on), or undefined. */
export function newestCoreBuild(): CoreBuild | undefined {
  return coreBuilds().at(-1);
}

/** A one-line skip reason when no build is there, else false. */
export function coreBuildsSkipReason(): string | false {
  return coreBuilds().length > 0 ? false : `no Bitcoin Core builds with USDT in ${coreBuildsDir()} (set REGTEST_HARNESS_CORE_BUILDS to a directory of vX.Y/bitcoind)`;
}
