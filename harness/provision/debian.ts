import { existsSync } from 'node:fs';
import { access, chmod, mkdir, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { HarnessError, isHarnessError } from '../common/errors.js';
import { findDebianMirror } from './apt-sources.js';
import { makeScratchDir, publishInstall, withCacheLock } from './cache.js';
import { currentPlatform, type Platform } from './platform.js';
import { WRAPPER_MARKER, writeSidecar } from './sidecar.js';

/**
 * Debian's bitcoin-knots (sid only) plus its library closure, unpacked into a private root and run
 * through that root's own dynamic loader — the system's libraries and dpkg database are never
 * touched, and no root is needed to run it. No USDT probes: Debian builds without them.
 */

export const DEBIAN_PACKAGE = 'bitcoin-knots';
const SUITE = 'sid';
const PROGRAMS = ['bitcoind', 'bitcoin-cli'] as const;
/** Depends that only the maintainer scripts need; the binaries do not load them. */
const SCRIPT_ONLY_DEPENDS = new Set(['debconf', 'debconf-2.0', 'systemd', 'systemd-standalone-sysusers', 'systemd-sysusers']);
/** Debian's archive keyring: `.gpg` through Debian 13, `.pgp` alongside it since 13 (and maybe alone later). */
const ARCHIVE_KEYRINGS = ['/usr/share/keyrings/debian-archive-keyring.gpg', '/usr/share/keyrings/debian-archive-keyring.pgp'];

function archiveKeyring(): string {
  return ARCHIVE_KEYRINGS.find((path) => existsSync(path)) ?? ARCHIVE_KEYRINGS[0]!;
}
const APT_TIMEOUT_MS = 5 * 60_000;

export interface DebianOptions {
  cacheDir: string;
  /** Where apt's sources are read from (tests point this at samples). */
  aptDir?: string;
  onProgress?: (line: string) => void;
  /** Cancels the apt/dpkg subprocesses (e.g. Ctrl-C in the CLI). */
  signal?: AbortSignal;
}

export interface DebianInstall {
  bitcoindPath: string;
  packageVersion: string;
  mirror: string;
}

function installDir(cacheDir: string, platform: Platform): string {
  return join(cacheDir, 'debian', `${DEBIAN_PACKAGE}-${platform.debianArch}`);
}

/** The cached Debian install's bitcoind wrapper, if a completed install is there. */
export async function findCachedDebian(cacheDir: string): Promise<string | undefined> {
  const path = join(installDir(cacheDir, currentPlatform()), 'bin', 'bitcoind');
  try {
    await access(path);
    return path;
  } catch {
    return undefined;
  }
}

/** Package names from a Depends field: first alternative of each, versions dropped. */
export function parseDependsField(depends: string): string[] {
  return depends
    .split(',')
    .map((clause) => (clause.split('|')[0] ?? '').replace(/\(.*?\)/g, '').replace(/:any$/, '').trim())
    .filter((name) => name.length > 0);
}

/** Real package names from `apt-cache depends --recurse` (unindented lines; `<virtual>` skipped). */
export function parseRecursiveDepends(output: string): string[] {
  const names = output.split('\n').filter((line) => line.length > 0 && !/^\s/.test(line) && !line.startsWith('<'));
  return [...new Set(names.map((n) => n.trim()))].sort();
}

function firstField(stanza: string, field: string): string | undefined {
  return new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(stanza)?.[1]?.trim();
}

/** A private apt: its own sources, lists, cache and an empty dpkg status. */
async function privateApt(scratch: string, mirror: string, keyring: string, platform: Platform): Promise<string[]> {
  const apt = join(scratch, 'apt');
  await mkdir(join(apt, 'lists', 'partial'), { recursive: true });
  await mkdir(join(apt, 'cache', 'archives', 'partial'), { recursive: true });
  await mkdir(join(apt, 'etc'), { recursive: true });
  await writeFile(join(apt, 'status'), '');
  await writeFile(join(apt, 'etc', 'sources.list'), `deb [signed-by=${keyring}] ${mirror} ${SUITE} main\n`);
  const user = process.getuid?.() === 0 ? 'root' : userInfo().username;
  const settings: Record<string, string> = {
    'Dir::Etc::SourceList': join(apt, 'etc', 'sources.list'),
    'Dir::Etc::SourceParts': '/dev/null',
    'Dir::State::Lists': join(apt, 'lists'),
    'Dir::State::status': join(apt, 'status'),
    'Dir::Cache': join(apt, 'cache'),
    'Dir::Cache::archives': join(apt, 'cache', 'archives'),
    'Dir::Etc::Preferences': '/dev/null',
    'Dir::Etc::PreferencesParts': '/dev/null',
    'APT::Architecture': platform.debianArch,
    'APT::Architectures::': platform.debianArch,
    'Debug::NoLocking': '1',
    'APT::Sandbox::User': user,
    'Acquire::Languages': 'none',
    'Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled': 'false',
    'Acquire::http::Timeout': '15',
  };
  return Object.entries(settings).flatMap(([key, value]) => ['-o', `${key}=${value}`]);
}

/**
 * apt refuses an index whose Release file is past its Valid-Until ("is expired") or dated in the
 * future ("is not valid yet"); a frozen snapshot mirror is the usual cause. Only then do we retry
 * with those two checks off: the index is still signature-checked, but may be stale.
 */
export const RELAXED_DATE_CHECKS = ['-o', 'Acquire::Check-Valid-Until=false', '-o', 'Acquire::Check-Date=false'];

/** Whether apt-get update failed because the index is expired or not yet valid (apt's own messages). */
export function failedOnIndexDate(aptStderr: string): boolean {
  return /Release file for \S+ is (expired|not valid yet)/.test(aptStderr);
}

async function runTool(tool: string, args: string[], what: string, fix: string, cwd?: string, signal?: AbortSignal): Promise<string> {
  signal?.throwIfAborted();
  try {
    const result = await execa(tool, args, { cwd, timeout: APT_TIMEOUT_MS, env: { LC_ALL: 'C' }, ...(signal ? { cancelSignal: signal } : {}) });
    return result.stdout;
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    const detail = (error as { stderr?: string }).stderr?.trim().split('\n').slice(-3).join(' | ') || (error as Error).message;
    throw new HarnessError('PROVISION_FAILED', `${what} failed: ${detail}`, { fix, evidence: (error as { stderr?: string }).stderr, cause: error });
  }
}

async function requireTool(tool: string): Promise<void> {
  try {
    await execa(tool, ['--version'], { timeout: 10_000 });
  } catch {
    throw new HarnessError('PROVISION_FAILED', `${tool} is not available: the Debian provisioner needs a Debian-based system`, {
      fix: 'use --source release, or install bitcoind yourself and pass --bitcoind PATH (or set BITCOIND)',
    });
  }
}

/** `value` as one sh word in single quotes: nothing inside ($, backticks, \) is expanded. */
export function shellSingleQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** The wrapper: every path single-quoted, so a cache path holding $(…) or backticks runs nothing. */
export function wrapperScript(finalDir: string, program: string, platform: Platform): string {
  const root = join(finalDir, 'root');
  const libraryPath = [join(root, 'usr', 'lib', platform.multiarch), join(root, 'lib', platform.multiarch)].join(':');
  const q = shellSingleQuote;
  // exec keeps the PID; the loader symlink named like the program makes /proc/PID/comm the program name.
  return [
    '#!/bin/sh',
    `${WRAPPER_MARKER}: ${DEBIAN_PACKAGE} from Debian ${SUITE}, run through its own loader`,
    `exec ${q(join(finalDir, 'ld', program))} --library-path ${q(libraryPath)} --argv0 ${q(program)} ${q(join(root, 'usr', 'bin', program))} "$@"`,
    '',
  ].join('\n');
}

export async function provisionDebian(options: DebianOptions): Promise<DebianInstall> {
  const platform = currentPlatform();
  const say = options.onProgress ?? (() => undefined);
  const finalDir = installDir(options.cacheDir, platform);
  const cached = await findCachedDebian(options.cacheDir);
  if (cached) return { bitcoindPath: cached, packageVersion: 'cached', mirror: 'cache' };

  await requireTool('apt-get');
  await requireTool('dpkg-deb');
  const mirror = await findDebianMirror(options.aptDir);

  return withCacheLock(
    options.cacheDir,
    `debian-${platform.debianArch}`,
    async () => {
      const done = await findCachedDebian(options.cacheDir);
      if (done) return { bitcoindPath: done, packageVersion: 'cached', mirror: 'cache' };

      await mkdir(join(options.cacheDir, 'debian'), { recursive: true });
      const scratch = await makeScratchDir(join(options.cacheDir, 'debian'), DEBIAN_PACKAGE);
      try {
        const apt = await privateApt(scratch, mirror, archiveKeyring(), platform);
        const run: typeof runTool = (tool, args, what, fix, cwd) => runTool(tool, args, what, fix, cwd, options.signal);
        const netFix = `check that ${mirror} is reachable (apt-get update works), or use --source release, or pass --bitcoind PATH`;
        say(`apt-get update (private lists, ${mirror} ${SUITE})`);
        await run('apt-get', [...apt, '-qq', 'update'], `apt-get update from ${mirror} ${SUITE}`, netFix).catch(async (error: unknown) => {
          if (options.signal?.aborted || !isHarnessError(error) || !failedOnIndexDate(`${error.evidence ?? ''}\n${error.message}`)) throw error;
          say(`the ${mirror} ${SUITE} index is expired or not yet valid: retrying apt-get update with Check-Valid-Until and Check-Date off (still signature-checked, but the packages may be stale)`);
          apt.push(...RELAXED_DATE_CHECKS);
          await run('apt-get', [...apt, '-qq', 'update'], `apt-get update from ${mirror} ${SUITE} (date checks off)`, netFix);
        });

        const show = await run('apt-cache', [...apt, 'show', '--no-all-versions', DEBIAN_PACKAGE], `apt-cache show ${DEBIAN_PACKAGE}`, netFix).catch(
          (error: unknown) => {
            if (options.signal?.aborted) throw error;
            throw new HarnessError('PROVISION_FAILED', `package ${DEBIAN_PACKAGE} not found in ${mirror} ${SUITE}`, {
              fix: `check that your mirror carries Debian ${SUITE} (${DEBIAN_PACKAGE} is only in ${SUITE}), or use --source release, or pass --bitcoind PATH`,
              cause: error,
            });
          },
        );
        const packageVersion = firstField(show, 'Version') ?? 'unknown';
        const libraries = parseDependsField(firstField(show, 'Depends') ?? '').filter((name) => !SCRIPT_ONLY_DEPENDS.has(name));
        const closure = parseRecursiveDepends(
          await run(
            'apt-cache',
            [...apt, 'depends', '--recurse', '--no-recommends', '--no-suggests', '--no-conflicts', '--no-breaks', '--no-replaces', '--no-enhances', ...libraries],
            'resolving library dependencies',
            netFix,
          ),
        );
        say(`downloading ${DEBIAN_PACKAGE} ${packageVersion} and ${closure.length} library packages`);
        const debs = join(scratch, 'debs');
        await mkdir(debs);
        await run('apt-get', [...apt, '-qq', 'download', DEBIAN_PACKAGE, ...closure], 'apt-get download', netFix, debs);

        const root = join(scratch, 'root');
        await mkdir(root);
        for (const deb of (await readdir(debs)).filter((f) => f.endsWith('.deb')).sort()) {
          await run('dpkg-deb', ['-x', join(debs, deb), root], `unpacking ${deb}`, 'make sure the cache directory has free space');
        }

        const loaderInRoot = join(root, 'usr', 'lib', platform.multiarch, platform.loader);
        await mkdir(join(scratch, 'ld'));
        await mkdir(join(scratch, 'bin'));
        for (const program of PROGRAMS) {
          // Relative, so the link survives the rename of scratch into place.
          await symlink(relative(join(scratch, 'ld'), loaderInRoot), join(scratch, 'ld', program));
          const wrapper = join(scratch, 'bin', program);
          await writeFile(wrapper, wrapperScript(finalDir, program, platform));
          await chmod(wrapper, 0o755);
          await writeSidecar(wrapper, {
            writtenBy: 'regtest-harness',
            kind: 'debian-private-root',
            program,
            elf: join('..', 'root', 'usr', 'bin', program),
            package: DEBIAN_PACKAGE,
            packageVersion,
            mirror,
          });
        }

        // Prove the pieces run before publishing (the wrappers point at the final place).
        const libraryPath = [join(root, 'usr', 'lib', platform.multiarch), join(root, 'lib', platform.multiarch)].join(':');
        await run(
          join(scratch, 'ld', 'bitcoind'),
          ['--library-path', libraryPath, '--argv0', 'bitcoind', join(root, 'usr', 'bin', 'bitcoind'), '-version'],
          'running the unpacked bitcoind',
          `report this: ${DEBIAN_PACKAGE} ${packageVersion} did not run from its private root; meanwhile use --source release or --bitcoind PATH`,
        );

        // Keep the root, drop the apt lists and .debs (~40 MB).
        await rm(join(scratch, 'apt'), { recursive: true, force: true });
        await rm(debs, { recursive: true, force: true });
        await publishInstall(scratch, finalDir);
        say(`installed ${DEBIAN_PACKAGE} ${packageVersion} into ${finalDir}`);
        return { bitcoindPath: join(finalDir, 'bin', 'bitcoind'), packageVersion, mirror };
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
    },
    { signal: options.signal, onWait: (pid) => say(`waiting for pid ${pid ?? '?'}, which is provisioning ${DEBIAN_PACKAGE} into ${options.cacheDir}`) },
  );
}
