import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HarnessError } from './errors.js';
import { guardClaim, releaseClaim } from './reaper.js';

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

function tryClaim(port: number): boolean {
  mkdirSync(claimDir, { recursive: true, mode: 0o1777 });
  const path = claimPath(port);
  try {
    writeFileSync(path, String(process.pid), { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  let owner = NaN;
  try {
    owner = Number(readFileSync(path, 'utf8'));
  } catch {
    return false;
  }
  if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) return false;
  return takeOverStaleClaim(path, owner);
}

/**
 * A dead owner's claim is taken over under a per-port takeover lock (created exclusively), so only
 * one process at a time may remove it. Claims are otherwise removed only by their live owner, so
 * the dead pid read under the lock is still what the file holds when the holder removes it.
 */
function takeOverStaleClaim(path: string, deadOwner: number): boolean {
  const lock = `${path}.takeover`;
  try {
    writeFileSync(lock, String(process.pid), { flag: 'wx' });
  } catch {
    return false; // another process is taking it over
  }
  try {
    if (Number(readFileSync(path, 'utf8')) !== deadOwner) return false;
    unlinkSync(path);
    writeFileSync(path, String(process.pid), { flag: 'wx' }); // a fresh claimer may still win here: then it is theirs
    return true;
  } catch {
    return false;
  } finally {
    unlinkSync(lock);
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
