import { randomBytes } from 'node:crypto';
import { lstatSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { HarnessError } from '../common/errors.js';
import { assertTrustedDir, pidIsAlive, releasePidLock, tryAcquirePidLock } from '../common/pid-lock.js';

/**
 * The per-user provisioning cache. Every install is built in a private temp directory next to
 * its final place and renamed in one step, so a half-done install never looks done; a lock file
 * only saves duplicate work — correctness rests on the rename.
 */

export { defaultCacheDir } from '../common/cache-dir.js';

export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * A fresh scratch directory inside the cache (same filesystem, so rename is atomic). Scratch
 * directories of dead provisioners (killed before their cleanup ran) are removed first.
 */
export async function makeScratchDir(cacheDir: string, label: string): Promise<string> {
  await mkdir(cacheDir, { recursive: true });
  await sweepAbandonedScratch(cacheDir);
  const dir = join(cacheDir, `.tmp-${label}-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(dir);
  return dir;
}

/**
 * Move a completed install into place. Returns false when another process got there first
 * (its copy is just as good; the caller discards ours).
 */
export async function publishInstall(scratchDir: string, finalDir: string): Promise<boolean> {
  try {
    await rename(scratchDir, finalDir);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if ((code === 'ENOTEMPTY' || code === 'EEXIST') && (await isDirectory(finalDir))) return false;
    throw error;
  }
}

/** `.tmp-<label>-<pid>-<random>` directories whose pid is gone. */
export async function sweepAbandonedScratch(dir: string): Promise<void> {
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const pid = Number(/^\.tmp-.*-(\d+)-[0-9a-f]{8}$/.exec(name)?.[1]);
    if (Number.isInteger(pid) && pid > 0 && !pidIsAlive(pid)) await rm(join(dir, name), { recursive: true, force: true });
  }
}

const LOCK_POLL_MS = 200;
/** Older versions wrote the pid after creating the lock: an empty one this old is debris of a crash. */
const EMPTY_LOCK_GRACE_MS = 5_000;

/** An empty regular file of ours, older than the grace period (never a symlink, FIFO or someone else's file). */
function isAbandonedEmptyLock(path: string): boolean {
  try {
    const info = lstatSync(path);
    return info.isFile() && info.size === 0 && info.uid === (process.getuid?.() ?? 0) && Date.now() - info.mtimeMs > EMPTY_LOCK_GRACE_MS;
  } catch {
    return false;
  }
}

export interface LockOptions {
  /** Give up waiting for another provisioner after this long. */
  maxWaitMs?: number;
  onWait?: (ownerPid: number | undefined) => void;
  /** Stop waiting (e.g. Ctrl-C). */
  signal?: AbortSignal;
}

/**
 * Run `fn` holding `<cacheDir>/<name>.lock`, a pid lock (common/pid-lock.ts): created with our
 * pid in it, taken over when its owner is dead, removed only while it still names us. The cache
 * directory must be trusted (ours or root's, not writable by others unless sticky), so a root
 * run never writes its lock where another user could plant a symlink or FIFO.
 */
export async function withCacheLock<T>(cacheDir: string, name: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  await mkdir(cacheDir, { recursive: true });
  assertTrustedDir(cacheDir, `use a cache directory of your own (REGTEST_HARNESS_CACHE), or fix the owner and mode of ${cacheDir}`);
  const lockPath = join(cacheDir, `${name}.lock`);
  const deadline = Date.now() + (options.maxWaitMs ?? 15 * 60_000);
  let reportedWait = false;
  for (;;) {
    options.signal?.throwIfAborted();
    const attempt = tryAcquirePidLock(lockPath);
    if (attempt.acquired) break;
    if (attempt.owner === undefined && isAbandonedEmptyLock(lockPath)) {
      await unlink(lockPath).catch(() => undefined);
      continue;
    }
    const holder = attempt.owner === undefined ? 'an unreadable lock (not a regular file holding a pid)' : `pid ${attempt.owner}`;
    if (Date.now() > deadline) {
      throw new HarnessError('PROVISION_FAILED', `timed out waiting for the provisioning lock ${lockPath} (held by ${holder})`, {
        fix: attempt.owner === undefined ? `remove ${lockPath}` : `wait for pid ${attempt.owner} to finish, or delete ${lockPath} if that process is not provisioning`,
      });
    }
    if (!reportedWait) {
      options.onWait?.(attempt.owner);
      reportedWait = true;
    }
    await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
  }
  try {
    return await fn();
  } finally {
    releasePidLock(lockPath);
  }
}
