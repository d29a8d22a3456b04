import { randomBytes } from 'node:crypto';
import { closeSync, constants as fs, fstatSync, linkSync, lstatSync, mkdirSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { isProcessAlive } from './child-process/signal.js';
import { HarnessError } from './errors.js';

/**
 * Lock files that hold their owner's pid, shared by the port claims (harness/ports.ts) and the
 * provisioning cache lock (harness/provision/cache.ts). Built for directories other users may
 * also write to:
 *  - a lock exists only with its content: written to a random O_CREAT|O_EXCL|O_NOFOLLOW name,
 *    then hard-linked into place (link never follows or replaces an existing name);
 *  - a lock is read with O_NONBLOCK|O_NOFOLLOW and must fstat as a regular file, so a planted
 *    symlink or FIFO is "unreadable" (left alone, never waited on);
 *  - a lock whose owner is dead is taken over under a per-lock takeover lock;
 *  - a lock is removed only while it still names us;
 *  - the directory itself must be trusted (see `assertTrustedDir`).
 */

const MAX_LOCK_BYTES = 64;

/** Whether a lock's owner still runs (harness/common/child-process/signal.ts). */
export const pidIsAlive = isProcessAlive;

const myUid = (): number => process.getuid?.() ?? 0;

/**
 * Why `dir` may not be written by this process, or undefined when it may: it must be a real
 * directory (not a symlink), owned by us or root, and not writable by others unless sticky
 * (then others can add names but not remove or rename ours; O_EXCL|O_NOFOLLOW handle the rest).
 * Root therefore never writes into a directory another user controls.
 */
export function untrustedDirReason(dir: string): string | undefined {
  let info;
  try {
    info = lstatSync(dir);
  } catch (error) {
    return `cannot inspect it (${(error as NodeJS.ErrnoException).code})`;
  }
  if (info.isSymbolicLink()) return 'it is a symlink';
  if (!info.isDirectory()) return 'it is not a directory';
  if (info.uid !== myUid() && info.uid !== 0) return `it is owned by uid ${info.uid}, not by uid ${myUid()} or root`;
  if ((info.mode & 0o022) !== 0 && (info.mode & 0o1000) === 0) return 'others may write to it and it has no sticky bit';
  return undefined;
}

export function assertTrustedDir(dir: string, fix: string): void {
  const reason = untrustedDirReason(dir);
  if (reason) throw new HarnessError('DATADIR_UNWRITABLE', `refusing to use lock directory ${dir}: ${reason}`, { fix });
}

/** Create `dir` (mode `mode`, parents as needed) and check it is trusted. */
export function ensureTrustedDir(dir: string, mode: number, fix: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new HarnessError('DATADIR_UNWRITABLE', `cannot create lock directory ${dir}: ${(error as Error).message}`, { fix, cause: error });
    }
  }
  assertTrustedDir(dir, fix);
}

/**
 * Create `path` holding `content` from the moment it exists. False when the name is taken
 * (by a lock, a symlink, a FIFO — anything).
 */
export function createWithContent(path: string, content: string): boolean {
  const aside = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(aside, fs.O_WRONLY | fs.O_CREAT | fs.O_EXCL | fs.O_NOFOLLOW, 0o644);
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(aside, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return false;
  } finally {
    unlinkSync(aside);
  }
}

/**
 * The pid a lock names, or undefined when it is missing, unreadable, not a regular file
 * (a symlink or FIFO planted in its place), or does not hold a pid. Never blocks.
 */
export function lockOwner(path: string): number | undefined {
  let fd: number;
  try {
    fd = openSync(path, fs.O_RDONLY | fs.O_NONBLOCK | fs.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    if (!fstatSync(fd).isFile()) return undefined;
    const buffer = Buffer.alloc(MAX_LOCK_BYTES);
    const length = readSync(fd, buffer, 0, MAX_LOCK_BYTES, 0);
    const text = buffer.subarray(0, length).toString('utf8').trim();
    if (!/^[1-9]\d{0,9}$/.test(text)) return undefined;
    return Number(text);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

export type AcquireResult = { acquired: true } | { acquired: false; owner: number | undefined };

/**
 * Try once to take the lock at `path` for this process. A lock naming a dead pid is taken over;
 * a live owner's, or an unreadable one, is left alone (`owner` says whose it is, if known).
 */
export function tryAcquirePidLock(path: string): AcquireResult {
  if (createWithContent(path, String(process.pid))) return { acquired: true };
  const owner = lockOwner(path);
  if (owner === undefined || pidIsAlive(owner)) return { acquired: false, owner };
  return takeOverStaleLock(path, owner) ? { acquired: true } : { acquired: false, owner };
}

/**
 * A dead owner's lock is taken over under `<path>.takeover` (itself a pid lock, cleared if its
 * holder died), so only one process at a time may remove it. Locks are otherwise removed only by
 * their live owner, so the dead pid read under the takeover lock is still what the file holds.
 */
function takeOverStaleLock(path: string, deadOwner: number): boolean {
  const takeover = `${path}.takeover`;
  if (!createWithContent(takeover, String(process.pid))) {
    const holder = lockOwner(takeover);
    if (holder !== undefined && !pidIsAlive(holder)) releasePidLock(takeover, holder); // a taker died mid-takeover
    return false;
  }
  try {
    if (lockOwner(path) !== deadOwner) return false;
    unlinkSync(path);
    return createWithContent(path, String(process.pid)); // a fresh claimer may still win here: then it is theirs
  } catch {
    return false;
  } finally {
    releasePidLock(takeover);
  }
}

/** Remove the lock only while it still names `pid` (default: us). */
export function releasePidLock(path: string, pid: number = process.pid): void {
  try {
    if (lockOwner(path) === pid) unlinkSync(path);
  } catch {
    // gone already
  }
}
