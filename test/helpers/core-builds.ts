import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compareVersions } from '../../harness/common/version.js';
import { parseProbeNotes } from '../../tracing/elf-notes.js';
import { damagedProbeSitesInImage, describeDamagedSite } from '../../tracing/probe-sites.js';

/**
 * Genuine Bitcoin Core builds with USDT, the ground truth for the usdt path: every `vX.Y…/bitcoind`
 * in $REGTEST_HARNESS_CORE_BUILDS, else in ../shared/bitcoin-core/ beside the project (where CI and
 * the developers' machines lay them). Discovered by listing, never hard-coded.
 *
 * The directory is shared, so nothing in it is trusted as it is: only regular files are taken (no
 * symlinks followed), and a build whose probe sites are not the `nop` sys/sdt.h compiled there
 * (tracing/probe-sites.ts) is listed with the reason it is unusable — the harness refuses to trace
 * it — and left out of `usableCoreBuilds()`/`newestCoreBuild()`, so specs skip it by name instead
 * of failing on a damaged input.
 */
export interface CoreBuild {
  /** The directory's name, e.g. "v29.0rc3". */
  tag: string;
  /** "29.0rc3" without the v, for versionAtLeast. */
  version: string;
  bitcoind: string;
  /** Why USDT tests cannot use this build (one line), or undefined. */
  unusable?: string;
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function coreBuildsDir(): string {
  return process.env.REGTEST_HARNESS_CORE_BUILDS ? resolve(process.env.REGTEST_HARNESS_CORE_BUILDS) : resolve(root, '..', 'shared', 'bitcoin-core');
}

let listed: CoreBuild[] | undefined;

/** Every build found, oldest first, each with `unusable` where it cannot be traced. Empty when the directory is missing. */
export function coreBuilds(): CoreBuild[] {
  listed ??= listBuilds();
  return listed;
}

function listBuilds(): CoreBuild[] {
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
    const unusable = probeSiteDamage(bitcoind);
    builds.push({ tag, version: tag.slice(1), bitcoind, ...(unusable ? { unusable } : {}) });
  }
  return builds.sort((a, b) => compareVersions(a.version, b.version) || a.tag.localeCompare(b.tag));
}

function probeSiteDamage(bitcoind: string): string | undefined {
  try {
    const image = readFileSync(bitcoind);
    const notes = parseProbeNotes(image);
    if (notes.length === 0) return `${bitcoind} carries no USDT probes`;
    const damaged = damagedProbeSitesInImage(image, notes);
    if (damaged.length === 0) return undefined;
    return `${bitcoind} was altered after it was built: ${damaged.map(describeDamagedSite).join('; ')} — the kernel refuses uprobes there; replace it with a clean copy`;
  } catch (error) {
    return `${bitcoind} cannot be read as an ELF file: ${(error as Error).message}`;
  }
}

/** The builds USDT tests can run on, oldest first. */
export function usableCoreBuilds(): CoreBuild[] {
  return coreBuilds().filter((b) => b.unusable === undefined);
}

/** The newest usable build (what `npm test` runs the usdt specs on), or undefined. */
export function newestCoreBuild(): CoreBuild | undefined {
  return usableCoreBuilds().at(-1);
}

/** A one-line skip reason when no usable build is there, else false. */
export function coreBuildsSkipReason(): string | false {
  const all = coreBuilds();
  if (all.length === 0) return `no Bitcoin Core builds with USDT in ${coreBuildsDir()} (set REGTEST_HARNESS_CORE_BUILDS to a directory of vX.Y/bitcoind)`;
  if (usableCoreBuilds().length === 0) return `no usable Bitcoin Core build in ${coreBuildsDir()}: ${all.map((b) => `${b.tag}: ${b.unusable}`).join('; ')}`;
  return false;
}

/** For a spec about one build: its skip reason (one line), or false. */
export function buildSkipReason(build: CoreBuild): string | false {
  return build.unusable ?? false;
}
