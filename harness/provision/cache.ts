import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { HarnessError } from '../common/errors.js';

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

function pidIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A lock file with no pid yet is only "being written" for a moment; after this it is debris. */
const EMPTY_LOCK_GRACE_MS = 5_000;
const LOCK_POLL_MS = 200;

export interface LockOptions {
  /** Give up waiting for another provisioner after this long. */
  maxWaitMs?: number;
  onWait?: (ownerPid: number | undefined) => void;
  /** Stop waiting (e.g. Ctrl-C). */
  signal?: AbortSignal;
}

async function lockOwner(lockPath: string): Promise<{ pid: number | undefined; ageMs: number } | undefined> {
  try {
    const [text, info] = await Promise.all([readFile(lockPath, 'utf8'), stat(lockPath)]);
    const pid = Number.parseInt(text.trim(), 10);
    return { pid: Number.isInteger(pid) && pid > 0 ? pid : undefined, ageMs: Date.now() - info.mtimeMs };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Run `fn` holding `<cacheDir>/<name>.lock` (O_EXCL, holds our pid). A lock left by a dead pid
 * is taken over. Two processes racing to take over the same stale lock can both proceed; that
 * costs duplicate work, never a broken install, because installs are published by rename.
 */
export async function withCacheLock<T>(cacheDir: string, name: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  await mkdir(cacheDir, { recursive: true });
  const lockPath = join(cacheDir, `${name}.lock`);
  const deadline = Date.now() + (options.maxWaitMs ?? 15 * 60_000);
  let reportedWait = false;
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      const handle = await open(lockPath, fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_WRONLY, 0o644);
      try {
        await handle.writeFile(`${process.pid}\n`);
      } finally {
        await handle.close();
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = await lockOwner(lockPath);
    if (owner === undefined) continue; // released between our open and read
    const stale = owner.pid === undefined ? owner.ageMs > EMPTY_LOCK_GRACE_MS : !pidIsAlive(owner.pid);
    if (stale) {
      await unlink(lockPath).catch(() => undefined);
      continue;
    }
    if (Date.now() > deadline) {
      throw new HarnessError('PROVISION_FAILED', `timed out waiting for the provisioning lock ${lockPath} (held by pid ${owner.pid ?? '?'})`, {
        fix: `wait for pid ${owner.pid ?? '?'} to finish, or delete ${lockPath} if that process is not provisioning`,
      });
    }
    if (!reportedWait) {
      options.onWait?.(owner.pid);
      reportedWait = true;
    }
    await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
  }
  try {
    return await fn();
  } finally {
    await rm(lockPath, { force: true });
  }
}
