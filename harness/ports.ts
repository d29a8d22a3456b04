import { chmodSync, linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HarnessError } from './common/errors.js';
import { guardClaim, releaseClaim } from './common/child-process/reaper.js';

/**
 * Port allocation that does not clash across vitest workers or processes. Two layers:
 *  1. Claims: each port is claimed with an O_EXCL lock file holding the owner's pid, so two
 *     harness processes never hand out the same port; claims of dead pids are taken over.
 *     Each process starts scanning at its own offset (vitest's pool id, else its pid), so
 *     workers rarely even contend for the same lock files.
 *  2. Bind check and retry: a claimed port must also be bindable on 127.0.0.1 right now.
 *     A foreign process can still grab it before bitcoind binds; the node then fails with
 *     PORT_IN_USE and starts again on fresh ports (bind-and-retry, in node.ts).
 * The range stays below Linux's ephemeral range (32768+) so outgoing connections don't take our ports.
 */
export const PORT_RANGE_START = 20000;
export const PORT_RANGE_END = 32000;
const SLOT_SIZE = 400;

const claimDir = join(tmpdir(), 'regtest-harness-ports');
const heldByThisProcess = new Set<number>();

function scanStart(): number {
  const poolId = Number(process.env.VITEST_POOL_ID ?? process.env.VITEST_WORKER_ID ?? NaN);
  const slots = Math.floor((PORT_RANGE_END - PORT_RANGE_START) / SLOT_SIZE);
  const slot = Number.isInteger(poolId) ? poolId % slots : process.pid % slots;
  return PORT_RANGE_START + slot * SLOT_SIZE;
}
let cursor = scanStart();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function claimPath(port: number): string {
  return join(claimDir, String(port));
}

/** The claims directory, world-writable with the sticky bit (like /tmp) so every user's harness can claim. */
function ensureClaimDir(): void {
  try {
    mkdirSync(claimDir, { recursive: true });
    if ((statSync(claimDir).mode & 0o1777) !== 0o1777 && statSync(claimDir).uid === process.getuid?.()) chmodSync(claimDir, 0o1777);
  } catch (error) {
    throw new HarnessError('PORT_IN_USE', `cannot use the port claims directory ${claimDir}: ${(error as Error).message}`, {
      fix: `make it writable for every user (chmod 1777 ${claimDir}) or remove it so the harness recreates it`,
      cause: error,
    });
  }
}

/**
 * Create a file that holds `content` from the moment it exists (written aside, then hard-linked
 * into place), so a reader never sees an empty claim and mistakes it for a dead owner's.
 */
function createWithContent(path: string, content: string): boolean {
  const aside = `${path}.${process.pid}.tmp`;
  writeFileSync(aside, content);
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

function ownerOf(path: string): number | undefined {
  try {
    const owner = Number(readFileSync(path, 'utf8'));
    return Number.isInteger(owner) && owner > 0 ? owner : undefined;
  } catch {
    return undefined;
  }
}

function tryClaim(port: number): boolean {
  ensureClaimDir();
  const path = claimPath(port);
  if (createWithContent(path, String(process.pid))) return true;
  const owner = ownerOf(path);
  if (owner === undefined || isAlive(owner)) return false; // unreadable claims are left alone
  return takeOverStaleClaim(path, owner);
}

/**
 * A dead owner's claim is taken over under a per-port takeover lock (itself created with its
 * holder's pid, and cleared if that holder died), so only one process at a time may remove it.
 * Claims are otherwise removed only by their live owner, so the dead pid read under the lock is
 * still what the file holds when the holder replaces it.
 */
function takeOverStaleClaim(path: string, deadOwner: number): boolean {
  const lock = `${path}.takeover`;
  if (!createWithContent(lock, String(process.pid))) {
    const holder = ownerOf(lock);
    if (holder !== undefined && !isAlive(holder)) unlinkIfOwnedBy(lock, holder); // a taker died mid-takeover
    return false;
  }
  try {
    if (ownerOf(path) !== deadOwner) return false;
    unlinkSync(path);
    return createWithContent(path, String(process.pid)); // a fresh claimer may still win here: then it is theirs
  } catch {
    return false;
  } finally {
    unlinkSync(lock);
  }
}

function unlinkIfOwnedBy(path: string, pid: number): void {
  try {
    if (ownerOf(path) === pid) unlinkSync(path);
  } catch {
    // gone already
  }
}

/** Whether 127.0.0.1:port can be bound right now. */
export function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Claim `count` ports that are free now; release them with `releasePorts`. */
export async function allocatePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  const span = PORT_RANGE_END - PORT_RANGE_START;
  for (let tried = 0; ports.length < count && tried < span; tried++) {
    const port = cursor;
    cursor = cursor + 1 >= PORT_RANGE_END ? PORT_RANGE_START : cursor + 1;
    if (heldByThisProcess.has(port) || !tryClaim(port)) continue;
    if (await canBind(port)) {
      heldByThisProcess.add(port);
      guardClaim(claimPath(port)); // if this process dies, the reaper gives the port back
      ports.push(port);
    } else {
      releaseClaimFile(port);
    }
  }
  if (ports.length < count) {
    releasePorts(ports);
    throw new HarnessError('PORT_IN_USE', `no free ports left in ${PORT_RANGE_START}-${PORT_RANGE_END} on 127.0.0.1`, {
      fix: `stop other processes listening in that range, or remove stale claims in ${claimDir}`,
    });
  }
  return ports;
}

function releaseClaimFile(port: number): void {
  try {
    if (readFileSync(claimPath(port), 'utf8') === String(process.pid)) unlinkSync(claimPath(port));
  } catch {
    // already gone
  }
}

export function releasePorts(ports: readonly number[]): void {
  for (const port of ports) {
    heldByThisProcess.delete(port);
    releaseClaimFile(port);
    releaseClaim(claimPath(port));
  }
}
