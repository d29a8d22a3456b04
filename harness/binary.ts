import { constants as fsConstants } from 'node:fs';
import { access, open, realpath, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { execa } from 'execa';
import { HarnessError, isHarnessError } from './common/errors.js';
import { defaultCacheDir } from './provision/cache.js';
import { findCachedDebian, provisionDebian } from './provision/debian.js';
import { DEFAULT_RELEASE_VERSION, findCachedRelease, provisionRelease, validateReleaseVersion } from './provision/release.js';
import { describeVerification } from './provision/signature.js';
import { readSidecarElf, WRAPPER_MARKER } from './provision/sidecar.js';
import { DEFAULT_TIMEOUTS } from './common/timing.js';

/** Where a bitcoind came from, in resolution order. */
export type BinarySource = 'flag' | 'env' | 'path' | 'cache' | 'release' | 'debian';

export interface BitcoindBinary {
  /** What to exec. */
  path: string;
  /** The ELF file that carries the probes; differs from `path` for our Debian wrapper. */
  elfPath: string;
  /** e.g. "29.4.3". */
  version: string;
  /** First line of `-version`. */
  versionLine: string;
  flavor: 'core' | 'knots';
  source: BinarySource;
  /** One line: which binary was used and why. */
  reason: string;
}

/** A `--version` run (harness/common/timing.ts). */
const VERSION_TIMEOUT_MS = DEFAULT_TIMEOUTS.probeProcess;
/** "Bitcoin Core daemon version v29.0.0", "Bitcoin Knots daemon version v29.4.3.knots…", older "Bitcoin Core version v25.0.0". */
const VERSION_LINE = /^Bitcoin (Core|Knots) (?:[Dd]aemon )?version v?(\d+\.\d+(?:\.\d+)*)/;
const POINT_AT_BITCOIND = 'point --bitcoind (or the BITCOIND environment variable) at a bitcoind binary';

type Identity = Omit<BitcoindBinary, 'source' | 'reason'> & { elfNote?: string };

/** Identification runs a process; networks ask often, so remember it per (path, mtime). */
const identified = new Map<string, Promise<Identity>>();

/** The first `length` bytes of a file (fewer if it is shorter). */
export async function readHead(path: string, length: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

export async function isElf(path: string): Promise<boolean> {
  return (await readHead(path, 4).catch(() => Buffer.alloc(0))).equals(ELF_MAGIC);
}

const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

/** The ELF behind `path`: itself, or what our wrapper's sidecar names; unknown scripts stay as they are. */
async function findElf(path: string): Promise<{ elfPath: string; note?: string }> {
  const real = await realpath(path);
  if (await isElf(real)) return { elfPath: real };
  const head = (await readHead(real, 4096)).toString('utf8');
  if (head.startsWith('#!') && head.includes(WRAPPER_MARKER)) {
    const found = await readSidecarElf(real);
    if (found && (await isElf(found.elfPath))) return { elfPath: found.elfPath };
  }
  return { elfPath: real, note: `${path} is not an ELF file and not a regtest-harness wrapper, so its probes cannot be located` };
}

async function runVersion(path: string): Promise<string> {
  const result = await execa(path, ['-version'], { timeout: VERSION_TIMEOUT_MS, reject: false, stdin: 'ignore' });
  if (result.timedOut) {
    throw new HarnessError('NOT_BITCOIND', `${path} is not bitcoind: \`-version\` did not finish within ${VERSION_TIMEOUT_MS / 1000} s`, { fix: POINT_AT_BITCOIND });
  }
  if (result.failed && result.exitCode === undefined) {
    // It could not be started at all (e.g. ENOEXEC: a text file without #!).
    throw new HarnessError('NOT_BITCOIND', `${path} is not bitcoind: it cannot be executed (${(result.shortMessage ?? "").split("\n")[0]})`, {
      fix: POINT_AT_BITCOIND,
      cause: result.cause,
    });
  }
  const firstLine = String(result.stdout).split('\n')[0]?.trim() ?? '';
  if (!VERSION_LINE.test(firstLine)) {
    const shown = firstLine || String(result.stderr).split('\n')[0]?.trim() || '';
    throw new HarnessError('NOT_BITCOIND', `${path} is not bitcoind: \`-version\` printed '${shown.slice(0, 120)}'`, {
      fix: POINT_AT_BITCOIND,
      evidence: `${String(result.stdout)}\n${String(result.stderr)}`.trim() || undefined,
    });
  }
  return firstLine;
}

async function identify(path: string): Promise<Identity> {
  const versionLine = await runVersion(path);
  const match = VERSION_LINE.exec(versionLine);
  const { elfPath, note } = await findElf(path);
  return {
    path,
    elfPath,
    version: match?.[2] ?? 'unknown',
    versionLine,
    flavor: match?.[1] === 'Knots' ? 'knots' : 'core',
    ...(note ? { elfNote: note } : {}),
  };
}

/** Whether the file starts like a program: an ELF header or a `#!` line. */
async function looksLikeProgram(path: string): Promise<boolean> {
  const handle = await open(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK).catch(() => undefined);
  if (!handle) return false;
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(4), 0, 4, 0);
    const head = buffer.subarray(0, bytesRead);
    return head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46])) || head.subarray(0, 2).toString('latin1') === '#!';
  } catch {
    return false;
  } finally {
    await handle.close();
  }
}

/**
 * Check that `path` is a runnable bitcoind and describe it. Errors: BINARY_NOT_FOUND,
 * BINARY_NOT_EXECUTABLE, NOT_BITCOIND — each naming the path and the fix.
 */
export async function identifyBinary(path: string, source: BinarySource, reason: string): Promise<BitcoindBinary> {
  const absolute = isAbsolute(path) ? path : resolve(path);
  let info;
  try {
    info = await stat(absolute);
  } catch {
    throw new HarnessError('BINARY_NOT_FOUND', `bitcoind not found at ${absolute}`, {
      fix: `check the path, or ${POINT_AT_BITCOIND}, or run 'regtest-harness provision' to download one`,
    });
  }
  if (!info.isFile()) {
    throw new HarnessError('NOT_BITCOIND', `${absolute} is not bitcoind: it is not a regular file`, { fix: POINT_AT_BITCOIND });
  }
  try {
    await access(absolute, fsConstants.X_OK);
  } catch {
    // Suggest chmod +x only for something that is a program (ELF or #! script), never for /etc/passwd.
    if (!(await looksLikeProgram(absolute))) {
      throw new HarnessError('NOT_BITCOIND', `${absolute} is not bitcoind: it is neither executable nor a program (no ELF or #! header)`, { fix: POINT_AT_BITCOIND });
    }
    throw new HarnessError('BINARY_NOT_EXECUTABLE', `${absolute} is not executable`, { fix: `run 'chmod +x ${absolute}'` });
  }
  const key = `${absolute}\0${info.ino}\0${info.mtimeMs}\0${info.size}`; // a rebuild in place changes one of these
  let pending = identified.get(key);
  if (!pending) {
    pending = identify(absolute);
    identified.set(key, pending);
    pending.catch(() => identified.delete(key));
  }
  const { elfNote, ...identity } = await pending;
  return { ...identity, source, reason: elfNote ? `${reason} (${elfNote})` : reason };
}

export interface ResolveOptions {
  /** --bitcoind PATH */
  bitcoind?: string;
  env?: NodeJS.ProcessEnv;
  /** Only this source, for both the cache lookup and provisioning. */
  source?: 'release' | 'debian';
  /** Official release version (default 29.2). */
  version?: string;
  /** Download one when none is found (default true). */
  provision?: boolean;
  releaseBaseUrl?: string;
  cacheDir?: string;
  onProgress?: (line: string) => void;
  /** Cancels provisioning (downloads, apt). */
  signal?: AbortSignal;
}

async function findOnPath(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'bitcoind');
    try {
      await access(candidate, fsConstants.X_OK);
      if ((await stat(candidate)).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function describeFailure(error: unknown): string {
  if (isHarnessError(error)) return error.message;
  return error instanceof Error ? error.message : String(error);
}

/**
 * Resolution order: --bitcoind → $BITCOIND → `bitcoind` on PATH → a copy provisioned earlier into
 * the cache → provision one (official release first: it has the USDT tracepoints; then Debian's
 * bitcoin-knots). With `source` named, only that source is considered.
 */
export async function resolveBitcoind(options: ResolveOptions = {}): Promise<BitcoindBinary> {
  const env = options.env ?? process.env;
  const cacheDir = options.cacheDir ?? defaultCacheDir(env);
  const version = options.version ?? DEFAULT_RELEASE_VERSION;
  // Before any cache lookup: the version becomes part of a cache path.
  validateReleaseVersion(version);
  const source = options.source;

  if (options.bitcoind !== undefined) {
    if (source) {
      throw new HarnessError('BAD_OPTION', `--bitcoind ${options.bitcoind} and --source ${source} contradict each other`, {
        fix: 'pass either --bitcoind PATH (use that binary) or --source (provision one), not both',
      });
    }
    return identifyBinary(options.bitcoind, 'flag', `using --bitcoind ${options.bitcoind}`);
  }
  if (!source) {
    if (env.BITCOIND) return identifyBinary(env.BITCOIND, 'env', `using BITCOIND=${env.BITCOIND}`);
    const onPath = await findOnPath(env);
    if (onPath) return identifyBinary(onPath, 'path', `using bitcoind found on PATH at ${onPath}`);
  }

  const releaseCached = source !== 'debian' ? await findCachedRelease(cacheDir, version) : undefined;
  if (releaseCached) return identifyBinary(releaseCached, 'cache', `using official release ${version} provisioned earlier into ${cacheDir}`);
  const debianCached = source !== 'release' ? await findCachedDebian(cacheDir) : undefined;
  if (debianCached) {
    const note = source ? '' : ` (no official release ${version} in the cache)`;
    return identifyBinary(debianCached, 'cache', `using Debian's bitcoin-knots provisioned earlier into ${cacheDir}${note} (no USDT probes)`);
  }

  if (options.provision === false) {
    throw new HarnessError('BINARY_NOT_FOUND', `no bitcoind found (${source ? `no ${source} copy in ${cacheDir}` : `not given by --bitcoind or BITCOIND, not on PATH, none in ${cacheDir}`})`, {
      fix: "pass --bitcoind PATH, set BITCOIND, or run 'regtest-harness provision' to download one",
    });
  }

  let releaseFailure: string | undefined;
  if (source !== 'debian') {
    try {
      const install = await provisionRelease({ version, baseUrl: options.releaseBaseUrl, cacheDir, env, onProgress: options.onProgress, signal: options.signal });
      const trust = install.verification ? describeVerification(install.verification, true) : 'SHA256 verified';
      return identifyBinary(install.bitcoindPath, 'release', `using official release ${version} from ${install.tarballUrl} (${trust})`);
    } catch (error) {
      // A bad download must not be papered over by a silent fallback.
      if (source === 'release' || options.signal?.aborted || isHarnessError(error, 'CHECKSUM_MISMATCH') || isHarnessError(error, 'BAD_OPTION')) throw error;
      releaseFailure = describeFailure(error);
      options.onProgress?.(`official release ${version} unavailable; falling back to Debian's bitcoin-knots`);
    }
  }
  const install = await provisionDebian({ cacheDir, onProgress: options.onProgress, signal: options.signal }).catch((error: unknown) => {
    if (releaseFailure && isHarnessError(error)) {
      throw new HarnessError(error.code, `${error.message} (and before that: ${releaseFailure})`, { fix: error.fix, evidence: error.evidence, cause: error });
    }
    throw error;
  });
  const identity = await identifyBinary(install.bitcoindPath, 'debian', '');
  const why = releaseFailure ? `official release ${version} unreachable (${releaseFailure}); ` : '';
  return { ...identity, reason: `${why}using Debian's bitcoin-knots ${identity.version} (no USDT probes)` };
}
