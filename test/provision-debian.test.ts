import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveBitcoind } from '../harness/binary.js';
import { findDebianMirror, parseDeb822Sources, parseOneLineSources, pickDebianMirror } from '../harness/provision/apt-sources.js';
import { failedOnIndexDate, parseDependsField, parseRecursiveDepends, provisionDebian } from '../harness/provision/debian.js';
import { isHarnessError } from '../harness/common/errors.js';
import { closedPortUrl } from './helpers/provision-release-server.js';

const cleanup: string[] = [];
afterAll(async () => {
  for (const dir of cleanup) await rm(dir, { recursive: true, force: true });
});
async function tempDir(label: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `rh-${label}-`));
  cleanup.push(dir);
  return dir;
}

const DEB822 = `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://mirror.example/debian/
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
`;

const NODESOURCE_FIRST = `Types: deb
URIs: https://deb.nodesource.com/node_20.x
Suites: nodistro
Components: main
Signed-By: /usr/share/keyrings/nodesource.gpg

Types: deb
URIs: https://other.example/debian
Suites: trixie
Components: main contrib
Enabled: no

Types: deb deb-src
URIs: https://third.example/debian
Suites: trixie trixie-updates
Components: main
`;

const ONE_LINE = `# comment line
deb http://security.example/debian-security bookworm-security main
deb-src http://src.example/debian bookworm main
deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://one.example/debian bookworm main contrib # trailing
deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main
`;

describe('apt sources parsing', () => {
  it('deb822: picks the main archive entry, not -security', () => {
    const entries = parseDeb822Sources(DEB822);
    expect(entries).toHaveLength(2);
    expect(entries[0]).toMatchObject({ types: ['deb'], suites: ['bookworm', 'bookworm-updates'], components: ['main'] });
    expect(pickDebianMirror(entries)).toBe('http://mirror.example/debian');
  });

  it('deb822: skips third-party repos and disabled entries', () => {
    expect(pickDebianMirror(parseDeb822Sources(NODESOURCE_FIRST))).toBe('https://third.example/debian');
  });

  it('one-line: skips security, deb-src and non-Debian suites; reads [options]', () => {
    const entries = parseOneLineSources(ONE_LINE);
    expect(entries).toHaveLength(4);
    expect(entries[2]).toMatchObject({ uris: ['http://one.example/debian'], signedBy: '/usr/share/keyrings/debian-archive-keyring.gpg', components: ['main', 'contrib'] });
    expect(pickDebianMirror(entries)).toBe('http://one.example/debian');
  });

  it('no Debian entry at all: PROVISION_FAILED naming where it looked and the alternatives', async () => {
    const aptDir = await tempDir('apt');
    const error = await findDebianMirror(aptDir).catch((e: unknown) => e);
    expect(isHarnessError(error, 'PROVISION_FAILED')).toBe(true);
    expect((error as Error).message).toContain(aptDir);
    expect(isHarnessError(error) && error.fix).toMatch(/--source release|--bitcoind/);
  });

  it('Depends: first alternative, versions and :any dropped', () => {
    expect(parseDependsField('libc6 (>= 2.34), libevent-core-2.1-7t64 (>= 2.1.8-stable), debconf (>= 0.5) | debconf-2.0, python3:any, systemd | systemd-sysusers')).toEqual([
      'libc6',
      'libevent-core-2.1-7t64',
      'debconf',
      'python3',
      'systemd',
    ]);
  });

  it('recursive depends: unindented real packages only', () => {
    const out = 'libzmq5\n  Depends: libc6\n  Depends: <libfoo>\nlibc6\n  PreDepends: x\n<libfoo>\nlibc6\n';
    expect(parseRecursiveDepends(out)).toEqual(['libc6', 'libzmq5']);
  });
});

describe('date checks on the Debian index', () => {
  it('are turned off only when apt-get update failed because the Release file is expired or not yet valid', () => {
    // apt's own messages (apt-pkg/acquire-item.cc), as apt-get update prints them.
    expect(failedOnIndexDate('E: Release file for http://deb.debian.org/debian/dists/sid/InRelease is expired (invalid since 3d 2h 1min 5s). Updates for this repository will not be applied.')).toBe(true);
    expect(failedOnIndexDate('E: Release file for http://deb.debian.org/debian/dists/sid/InRelease is not valid yet (invalid for another 1h 2min 3s). Updates for this repository will not be applied.')).toBe(true);
    expect(failedOnIndexDate("E: Failed to fetch http://deb.debian.org/debian/dists/sid/InRelease  Could not resolve 'deb.debian.org'")).toBe(false);
    expect(failedOnIndexDate('E: The repository is not signed.')).toBe(false);
  });
});

/** Start a regtest node through `path`, read /proc/<spawned pid>/comm once it has exec'd, stop it. */
async function commOfSpawnedNode(path: string, datadir: string): Promise<string> {
  const node = execa(path, ['-regtest', `-datadir=${datadir}`, '-listen=0', '-server=0', '-printtoconsole=0'], { reject: false });
  try {
    let comm = '';
    for (let i = 0; i < 100 && node.exitCode === null; i++) {
      comm = (await readFile(`/proc/${node.pid}/comm`, 'utf8').catch(() => '')).trim();
      if (comm !== '' && comm !== 'sh') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    return comm;
  } finally {
    node.kill('SIGTERM');
    await node;
  }
}

const hasApt = existsSync('/usr/bin/apt-get') && existsSync('/usr/bin/dpkg-deb');

describe('Debian provisioning (real apt, real .debs)', () => {
  it('falls back from an unreachable release to bitcoin-knots in a private root; the next call is a cache hit', async (ctx) => {
    if (!hasApt) return ctx.skip('apt-get/dpkg-deb not present: not a Debian system');
    const cacheDir = await tempDir('debian-cache');
    const progress: string[] = [];

    // No source named and the official release unreachable: it falls back to Debian and says why.
    const releaseBaseUrl = await closedPortUrl();
    const first = await resolveBitcoind({ env: { PATH: '/nonexistent' }, releaseBaseUrl, cacheDir, onProgress: (l) => progress.push(l) });
    expect(first.source).toBe('debian');
    expect(first.flavor).toBe('knots');
    expect(first.reason).toMatch(new RegExp(`^official release 29\\.2 unreachable \\(cannot download ${releaseBaseUrl}/.*ECONNREFUSED.*\\); using Debian's bitcoin-knots \\d+\\.\\d+\\.\\d+ \\(no USDT probes\\)$`));
    expect(first.path.startsWith(cacheDir)).toBe(true);
    expect(first.elfPath).not.toBe(first.path);
    expect((await readFile(first.elfPath)).subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(progress.some((l) => l.startsWith('apt-get update'))).toBe(true);

    const { stdout } = await execa(first.path, ['-version']);
    expect(stdout.split('\n')[0]).toBe(first.versionLine);
    // The wrapper execs: the PID we spawned becomes bitcoind itself (not sh, not ld-linux).
    expect(await commOfSpawnedNode(first.path, await tempDir('datadir'))).toBe('bitcoind');
    // apt lists and .debs are gone; no scratch directory or lock is left behind.
    const installRoot = join(first.path, '..', '..');
    expect((await readdir(installRoot)).sort()).toEqual(['bin', 'ld', 'root']);
    expect((await readdir(join(cacheDir, 'debian'))).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
    expect((await readdir(cacheDir)).filter((n) => n.endsWith('.lock'))).toEqual([]);

    // Cache hit: the same path, and apt is never consulted (an empty apt dir would make it fail).
    const second = await resolveBitcoind({ source: 'debian', cacheDir });
    expect(second).toMatchObject({ source: 'cache', path: first.path, elfPath: first.elfPath });
    const direct = await provisionDebian({ cacheDir, aptDir: await tempDir('no-apt') });
    expect(direct.bitcoindPath).toBe(first.path);
  }, 180_000);
});
