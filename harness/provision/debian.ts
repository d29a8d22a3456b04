import { existsSync } from 'node:fs';
import { access, chmod, mkdir, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join, relative } from 'node:path';
import { privateRootDir } from '../common/cache-dir.js';
import { HarnessError, isHarnessError } from '../common/errors.js';
import { findDebianMirror } from './apt-sources.js';
import { makeScratchDir, publishInstall, withCacheLock } from './cache.js';
import { currentPlatform, type Platform } from './platform.js';
import { WRAPPER_MARKER, writeSidecar } from './sidecar.js';

/**
 * A Debian package plus its library closure, unpacked into a private root and run through that
 * root's own dynamic loader — the system's libraries and dpkg database are never touched, and no
 * root is needed to run it (docs/sources.md, "Private roots"). Used for Debian
 * sid's bitcoin-knots (no USDT probes: Debian builds without them) and Debian 13's bpftrace
 * (harness/provision/bpftrace-root.ts).
 */

/** What to provision: one package of one suite, and the programs of it that get a wrapper. */
export interface PrivateRootSpec {
  package: string;
  suite: string;
  /** Programs in /usr/bin of the package; the first one is run with `versionArgs` before publishing. */
  programs: readonly string[];
  versionArgs: readonly string[];
  /** What to do instead when this package cannot be had (ends the error's fix). */
  otherwise: string;
}

export const DEBIAN_PACKAGE = 'bitcoin-knots';
const KNOTS: PrivateRootSpec = {
  package: DEBIAN_PACKAGE,
  suite: 'sid',
  programs: ['bitcoind', 'bitcoin-cli'],
  versionArgs: ['-version'],
  otherwise: 'use --source release, or pass --bitcoind PATH',
};
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

export interface PrivateRootInstall {
  /** The wrapper of the spec's first program. */
  programPath: string;
  packageVersion: string;
  mirror: string;
}

function installDir(cacheDir: string, packageName: string, platform: Platform = currentPlatform()): string {
  const dir = privateRootDir(cacheDir, packageName);
  // One layout for the provisioner and for readers that cannot import it (harness/common/cache-dir.ts).
  return dir ?? join(cacheDir, 'debian', `${packageName}-${platform.debianArch}`);
}

/** A completed private-root install's wrapper of `program`, if there is one. */
export async function findCachedPrivateRoot(cacheDir: string, packageName: string, program: string): Promise<string | undefined> {
  const path = join(installDir(cacheDir, packageName), 'bin', program);
  try {
    await access(path);
    return path;
  } catch {
    return undefined;
  }
}

/** The cached Debian install's bitcoind wrapper, if a completed install is there. */
export function findCachedDebian(cacheDir: string): Promise<string | undefined> {
  return findCachedPrivateRoot(cacheDir, DEBIAN_PACKAGE, 'bitcoind');
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
async function privateApt(scratch: string, mirror: string, suite: string, keyring: string, platform: Platform): Promise<string[]> {
  const apt = join(scratch, 'apt');
  await mkdir(join(apt, 'lists', 'partial'), { recursive: true });
  await mkdir(join(apt, 'cache', 'archives', 'partial'), { recursive: true });
  await mkdir(join(apt, 'etc'), { recursive: true });
  await writeFile(join(apt, 'status'), '');
  await writeFile(join(apt, 'etc', 'sources.list'), `deb [signed-by=${keyring}] ${mirror} ${suite} main\n`);
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
    const { execa } = await import('execa'); // provisioning only: not loaded by other commands
    const result = await execa(tool, args, { cwd, timeout: APT_TIMEOUT_MS, env: { LC_ALL: 'C' }, ...(signal ? { cancelSignal: signal } : {}) });
    return result.stdout;
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    const detail = (error as { stderr?: string }).stderr?.trim().split('\n').slice(-3).join(' | ') || (error as Error).message;
    throw new HarnessError('PROVISION_FAILED', `${what} failed: ${detail}`, { fix, evidence: (error as { stderr?: string }).stderr, cause: error });
  }
}

async function requireTool(tool: string, otherwise: string): Promise<void> {
  try {
    const { execa } = await import('execa');
    await execa(tool, ['--version'], { timeout: 10_000 });
  } catch {
    throw new HarnessError('PROVISION_FAILED', `${tool} is not available: the Debian provisioner needs a Debian-based system`, {
      fix: otherwise,
    });
  }
}

/** `value` as one sh word in single quotes: nothing inside ($, backticks, \) is expanded. */
export function shellSingleQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** The wrapper: every path single-quoted, so a cache path holding $(…) or backticks runs nothing. */
export function wrapperScript(spec: PrivateRootSpec, finalDir: string, program: string, platform: Platform): string {
  const root = join(finalDir, 'root');
  const libraryPath = [join(root, 'usr', 'lib', platform.multiarch), join(root, 'lib', platform.multiarch)].join(':');
  const q = shellSingleQuote;
  // exec keeps the PID; the loader symlink named like the program makes /proc/PID/comm the program name.
  return [
    '#!/bin/sh',
    `${WRAPPER_MARKER}: ${spec.package} from Debian ${spec.suite}, run through its own loader`,
    `exec ${q(join(finalDir, 'ld', program))} --library-path ${q(libraryPath)} --argv0 ${q(program)} ${q(join(root, 'usr', 'bin', program))} "$@"`,
    '',
  ].join('\n');
}

export async function provisionDebian(options: DebianOptions): Promise<DebianInstall> {
  const install = await provisionPrivateRoot(KNOTS, options);
  return { bitcoindPath: install.programPath, packageVersion: install.packageVersion, mirror: install.mirror };
}

/** Provisions `spec` into the cache once (idempotent; concurrent callers share one install). */
export async function provisionPrivateRoot(spec: PrivateRootSpec, options: DebianOptions): Promise<PrivateRootInstall> {
  const platform = currentPlatform();
  const say = options.onProgress ?? (() => undefined);
  const { package: packageName, suite } = spec;
  const first = spec.programs[0]!;
  const finalDir = installDir(options.cacheDir, spec.package, platform);
  const cached = await findCachedPrivateRoot(options.cacheDir, spec.package, first);
  if (cached) return { programPath: cached, packageVersion: 'cached', mirror: 'cache' };

  await requireTool('apt-get', spec.otherwise);
  await requireTool('dpkg-deb', spec.otherwise);
  const mirror = await findDebianMirror(options.aptDir);

  return withCacheLock(
    options.cacheDir,
    // The Knots lock keeps its old name, so older harness versions still exclude us.
    spec === KNOTS ? `debian-${platform.debianArch}` : `debian-${spec.package}-${platform.debianArch}`,
    async () => {
      const done = await findCachedPrivateRoot(options.cacheDir, spec.package, first);
      if (done) return { programPath: done, packageVersion: 'cached', mirror: 'cache' };

      await mkdir(join(options.cacheDir, 'debian'), { recursive: true });
      const scratch = await makeScratchDir(join(options.cacheDir, 'debian'), packageName);
      try {
        const apt = await privateApt(scratch, mirror, suite, archiveKeyring(), platform);
        const run: typeof runTool = (tool, args, what, fix, cwd) => runTool(tool, args, what, fix, cwd, options.signal);
        const netFix = `check that ${mirror} is reachable (apt-get update works), or ${spec.otherwise}`;
        say(`apt-get update (private lists, ${mirror} ${suite})`);
        await run('apt-get', [...apt, '-qq', 'update'], `apt-get update from ${mirror} ${suite}`, netFix).catch(async (error: unknown) => {
          if (options.signal?.aborted || !isHarnessError(error) || !failedOnIndexDate(`${error.evidence ?? ''}\n${error.message}`)) throw error;
          say(`the ${mirror} ${suite} index is expired or not yet valid: retrying apt-get update with Check-Valid-Until and Check-Date off (still signature-checked, but the packages may be stale)`);
          apt.push(...RELAXED_DATE_CHECKS);
          await run('apt-get', [...apt, '-qq', 'update'], `apt-get update from ${mirror} ${suite} (date checks off)`, netFix);
        });

        const show = await run('apt-cache', [...apt, 'show', '--no-all-versions', packageName], `apt-cache show ${packageName}`, netFix).catch(
          (error: unknown) => {
            if (options.signal?.aborted) throw error;
            throw new HarnessError('PROVISION_FAILED', `package ${packageName} not found in ${mirror} ${suite}`, {
              fix: `check that your mirror carries Debian ${suite} (${packageName} is taken from ${suite}), or ${spec.otherwise}`,
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
        say(`downloading ${packageName} ${packageVersion} and ${closure.length} library packages`);
        const debs = join(scratch, 'debs');
        await mkdir(debs);
        await run('apt-get', [...apt, '-qq', 'download', packageName, ...closure], 'apt-get download', netFix, debs);

        const root = join(scratch, 'root');
        await mkdir(root);
        for (const deb of (await readdir(debs)).filter((f) => f.endsWith('.deb')).sort()) {
          await run('dpkg-deb', ['-x', join(debs, deb), root], `unpacking ${deb}`, 'make sure the cache directory has free space');
        }

        const loaderInRoot = join(root, 'usr', 'lib', platform.multiarch, platform.loader);
        await mkdir(join(scratch, 'ld'));
        await mkdir(join(scratch, 'bin'));
        for (const program of spec.programs) {
          // Relative, so the link survives the rename of scratch into place.
          await symlink(relative(join(scratch, 'ld'), loaderInRoot), join(scratch, 'ld', program));
          const wrapper = join(scratch, 'bin', program);
          await writeFile(wrapper, wrapperScript(spec, finalDir, program, platform));
          await chmod(wrapper, 0o755);
          await writeSidecar(wrapper, {
            writtenBy: 'regtest-harness',
            kind: 'debian-private-root',
            program,
            elf: join('..', 'root', 'usr', 'bin', program),
            package: packageName,
            packageVersion,
            mirror,
          });
        }

        // Prove the pieces run before publishing (the wrappers point at the final place).
        const libraryPath = [join(root, 'usr', 'lib', platform.multiarch), join(root, 'lib', platform.multiarch)].join(':');
        await run(
          join(scratch, 'ld', first),
          ['--library-path', libraryPath, '--argv0', first, join(root, 'usr', 'bin', first), ...spec.versionArgs],
          `running the unpacked ${first}`,
          `report this: ${packageName} ${packageVersion} did not run from its private root; meanwhile ${spec.otherwise}`,
        );

        // Keep the root, drop the apt lists and .debs (~40 MB).
        await rm(join(scratch, 'apt'), { recursive: true, force: true });
        await rm(debs, { recursive: true, force: true });
        await publishInstall(scratch, finalDir);
        say(`installed ${packageName} ${packageVersion} into ${finalDir}`);
        return { programPath: join(finalDir, 'bin', first), packageVersion, mirror };
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
    },
    { signal: options.signal, onWait: (pid) => say(`waiting for pid ${pid ?? '?'}, which is provisioning ${packageName} into ${options.cacheDir}`) },
  );
}
