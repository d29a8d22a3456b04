import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HarnessError } from './common/errors.js';
import { ensureTrustedDir, releasePidLock, tryAcquirePidLock } from './common/pid-lock.js';
import { guardClaim, releaseClaim } from './common/child-process/reaper.js';

/**
 * Port allocation that does not clash across vitest workers or processes. Two layers:
 *  1. Claims: each port is claimed with a pid lock (common/pid-lock.ts), so two harness
 *     processes of one user never hand out the same port; claims of dead pids are taken over.
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

/**
 * One claims directory per uid, mode 0700 (`assertTrustedDir` in common/pid-lock.ts refuses one
 * that is a symlink, owned by another user, or writable by others). A shared world-writable
 * directory let any local user plant symlinks and FIFOs for a root run to trip over, or fill it
 * with claims; per uid, users only coordinate with themselves, and clashes across users are
 * still caught by the bind check and the PORT_IN_USE retry below.
 */
export function portClaimsDir(): string {
  return join(tmpdir(), `regtest-harness-ports-${process.getuid?.() ?? 0}`);
}
const claimDir = portClaimsDir();
const heldByThisProcess = new Set<number>();

function scanStart(): number {
  const poolId = Number(process.env.VITEST_POOL_ID ?? process.env.VITEST_WORKER_ID ?? NaN);
  const slots = Math.floor((PORT_RANGE_END - PORT_RANGE_START) / SLOT_SIZE);
  const slot = Number.isInteger(poolId) ? poolId % slots : process.pid % slots;
  return PORT_RANGE_START + slot * SLOT_SIZE;
}
let cursor = scanStart();

function claimPath(port: number): string {
  return join(claimDir, String(port));
}

function ensureClaimDir(): void {
  ensureTrustedDir(claimDir, 0o700, `remove ${claimDir} (it must be a directory of yours with mode 0700) so the harness recreates it`);
}

function tryClaim(port: number): boolean {
  ensureClaimDir();
  return tryAcquirePidLock(claimPath(port)).acquired;
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
  releasePidLock(claimPath(port));
}

export function releasePorts(ports: readonly number[]): void {
  for (const port of ports) {
    heldByThisProcess.delete(port);
    releaseClaimFile(port);
    releaseClaim(claimPath(port));
  }
}
