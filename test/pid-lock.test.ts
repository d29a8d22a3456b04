import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { createWithContent, lockOwner, releasePidLock, tryAcquirePidLock, untrustedDirReason } from '../harness/common/pid-lock.js';
import { withCacheLock } from '../harness/provision/cache.js';
import { nobodySkipReason, shAsNobody } from './helpers/as-nobody.js';

/** A root-owned directory like /tmp (1777), that nobody can write into; removed after each test. */
const scratch: string[] = [];
function sharedStickyDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pid-lock-test-'));
  chmodSync(dir, 0o1777);
  scratch.push(dir);
  return dir;
}
function victimFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pid-lock-victim-'));
  chmodSync(dir, 0o755);
  scratch.push(dir);
  const victim = join(dir, 'victim');
  writeFileSync(victim, 'precious\n', { mode: 0o644 });
  return victim;
}
afterEach(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
  vi.unstubAllEnvs();
  vi.resetModules();
});

describe('pid locks', () => {
  test('a lock holds our pid, is not taken twice, and is released only while it names us', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pid-lock-test-'));
    scratch.push(dir);
    const lock = join(dir, 'a.lock');
    expect(tryAcquirePidLock(lock)).toEqual({ acquired: true });
    expect(readFileSync(lock, 'utf8')).toBe(String(process.pid));
    expect(tryAcquirePidLock(lock)).toEqual({ acquired: false, owner: process.pid });
    writeFileSync(lock, String(process.ppid)); // someone else's now
    releasePidLock(lock);
    expect(lockOwner(lock)).toBe(process.ppid);
  });

  test("a dead owner's lock is taken over", () => {
    const dir = mkdtempSync(join(tmpdir(), 'pid-lock-test-'));
    scratch.push(dir);
    const lock = join(dir, 'a.lock');
    const dead = Number(execFileSync('sh', ['-c', 'sh -c "echo \\$\\$"'], { encoding: 'utf8' }).trim()); // exited already
    writeFileSync(lock, String(dead));
    expect(tryAcquirePidLock(lock)).toEqual({ acquired: true });
    expect(lockOwner(lock)).toBe(process.pid);
    releasePidLock(lock);
    expect(existsSync(lock)).toBe(false);
  });

  test.skipIf(nobodySkipReason())('symlinks planted by nobody in a shared sticky directory never make root write through them', async () => {
    const dir = sharedStickyDir();
    const victim = victimFile();
    // Every name a lock or a takeover uses, and the old predictable temp name, points at the victim.
    await shAsNobody(`for n in a.lock a.lock.takeover a.lock.${process.pid}.tmp; do ln -s '${victim}' '${dir}'/$n; done`);
    expect(tryAcquirePidLock(join(dir, 'a.lock'))).toEqual({ acquired: false, owner: undefined });
    releasePidLock(join(dir, 'a.lock'));
    expect(createWithContent(join(dir, 'a.lock.takeover'), '1')).toBe(false);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
  });

  test.skipIf(nobodySkipReason())('a FIFO planted as a lock is skipped at once, and a waiter on it gives up naming it', async () => {
    const dir = sharedStickyDir();
    await shAsNobody(`mkfifo '${dir}/a.lock' '${dir}/release-x.lock'`);
    // A blocking read of a FIFO with no writer would hang here (and Ctrl-C could not be handled).
    expect(tryAcquirePidLock(join(dir, 'a.lock'))).toEqual({ acquired: false, owner: undefined });
    expect(lockOwner(join(dir, 'a.lock'))).toBeUndefined();
    releasePidLock(join(dir, 'a.lock'));
    await expect(withCacheLock(dir, 'release-x', async () => 'ran', { maxWaitMs: 300 })).rejects.toThrow(/unreadable lock/);
  });

  test.skipIf(nobodySkipReason())('a directory another user owns is refused, even when it looks like /tmp', async () => {
    const base = sharedStickyDir();
    const theirs = join(base, 'theirs');
    await shAsNobody(`mkdir '${theirs}' && chmod 1777 '${theirs}'`);
    expect(untrustedDirReason(theirs)).toMatch(/owned by uid 65534/);
    await expect(withCacheLock(theirs, 'x', async () => 'ran')).rejects.toMatchObject({ code: 'DATADIR_UNWRITABLE' });
    expect(untrustedDirReason(base)).toBeUndefined(); // root-owned and sticky: fine
    const link = join(base, 'link');
    symlinkSync(base, link);
    expect(untrustedDirReason(link)).toBe('it is a symlink');
  });
});

describe('port claims under attack', () => {
  test.skipIf(nobodySkipReason())('nobody pre-creating the claims directory full of symlinks cannot make a root run overwrite a file', async () => {
    // The reproduction from issue 10: the attacker owns the claims directory (mode 1777) and points
    // every claim name, and every temp name the harness would write, at a root-owned file.
    const base = sharedStickyDir();
    const victim = victimFile();
    vi.stubEnv('TMPDIR', base);
    vi.stubEnv('VITEST_POOL_ID', '0'); // the scan starts at PORT_RANGE_START
    vi.resetModules();
    const ports = await import('../harness/ports.js');
    const dir = ports.portClaimsDir();
    expect(dir.startsWith(base)).toBe(true);
    await shAsNobody(
      `mkdir -m 1777 '${dir}' && p=${ports.PORT_RANGE_START}; while [ $p -lt ${ports.PORT_RANGE_START + 40} ]; do ` +
        `ln -s '${victim}' '${dir}'/$p; ln -s '${victim}' '${dir}'/$p.${process.pid}.tmp; p=$((p+1)); done`,
    );
    await expect(ports.allocatePorts(2)).rejects.toMatchObject({ code: 'DATADIR_UNWRITABLE', message: expect.stringMatching(/owned by uid 65534/) });
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
  });

  test.skipIf(nobodySkipReason())('a per-uid claims directory is created 0700 and used', async () => {
    const base = sharedStickyDir();
    vi.stubEnv('TMPDIR', base);
    vi.resetModules();
    const ports = await import('../harness/ports.js');
    const got = await ports.allocatePorts(1);
    expect(lockOwner(join(ports.portClaimsDir(), String(got[0])))).toBe(process.pid);
    ports.releasePorts(got);
    expect(existsSync(join(ports.portClaimsDir(), String(got[0])))).toBe(false);
    expect(untrustedDirReason(ports.portClaimsDir())).toBeUndefined();
  });
});

describe('the provisioning cache lock', () => {
  test('an empty lock left by an older version is cleared after a grace period, not waited on for minutes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pid-lock-test-'));
    scratch.push(dir);
    const lock = join(dir, 'release-x.lock');
    writeFileSync(lock, '');
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    await expect(withCacheLock(dir, 'release-x', async () => lockOwner(lock), { maxWaitMs: 2_000 })).resolves.toBe(process.pid);
    expect(existsSync(lock)).toBe(false); // released after
  });
});
