import { spawn, type ChildProcess } from 'node:child_process';

/**
 * Guaranteed cleanup when the owning process dies without running its own cleanup (SIGKILL,
 * a crashed vitest worker). A tiny watchdog process is started once per owner, detached into
 * its own session, and told over a pipe what the owner holds: process groups to kill, dirs
 * and files to remove. When the owner dies the kernel closes the pipe; the watchdog sees EOF
 * at once (no polling), kills what is still registered (SIGTERM, then SIGKILL after a grace
 * period), removes the paths and exits. A clean owner unregisters everything first, so the
 * watchdog then has nothing to do.
 */

// Plain JavaScript, run with `node -e`, so it works the same from the TypeScript sources and the build.
const WATCHDOG_SOURCE = String.raw`
const fs = require('node:fs');
const pids = new Set(), paths = new Set(), claims = new Set();
const owner = process.env.REAPER_OWNER_PID;
let buffer = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buffer += chunk;
  let nl;
  while ((nl = buffer.indexOf('\n')) >= 0) {
    const line = buffer.slice(0, nl); buffer = buffer.slice(nl + 1);
    // One JSON array [op, arg] per line: a path holding a newline stays one path.
    let op, arg;
    try { [op, arg] = JSON.parse(line); } catch { continue; }
    if (typeof arg !== 'string' && typeof arg !== 'number') continue;
    if (op === '+pid') pids.add(Number(arg));
    else if (op === '-pid') pids.delete(Number(arg));
    else if (op === '+path') paths.add(arg);
    else if (op === '-path') paths.delete(arg);
    else if (op === '+claim') claims.add(arg);
    else if (op === '-claim') claims.delete(arg);
  }
});
function claimOwner(path) {
  const fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOFOLLOW);
  try {
    if (!fs.fstatSync(fd).isFile()) return undefined;
    const buffer = Buffer.alloc(64);
    return buffer.subarray(0, fs.readSync(fd, buffer, 0, 64, 0)).toString('utf8').trim();
  } finally { fs.closeSync(fd); }
}
function alive(pid) { try { process.kill(pid, 0); return true; } catch (e) { return e.code === 'EPERM'; } }
function signal(pid, sig) { try { process.kill(-pid, sig); } catch { try { process.kill(pid, sig); } catch {} } }
process.stdin.on('end', () => {
  for (const pid of pids) signal(pid, 'SIGTERM');
  const deadline = Date.now() + GRACE_MS_PLACEHOLDER;
  const finish = () => {
    const left = [...pids].filter(alive);
    if (left.length > 0 && Date.now() < deadline) return setTimeout(finish, 50);
    for (const pid of left) signal(pid, 'SIGKILL');
    setTimeout(() => {
      for (const p of paths) { try { fs.rmSync(p, { recursive: true, force: true }); } catch {} }
      // A claim file is removed only while it still names the dead owner: someone may have taken it over.
      // Read without following a symlink or blocking on a FIFO (common/pid-lock.ts lockOwner does the same).
      for (const c of claims) { try { if (claimOwner(c) === owner) fs.unlinkSync(c); } catch {} }
      process.exit(0);
    }, left.length > 0 ? 200 : 0);
  };
  finish();
});
`;

const GRACE_MS = 3000;

let watchdog: ChildProcess | undefined;

type WatchdogOp = '+pid' | '-pid' | '+path' | '-path' | '+claim' | '-claim';

/** One message to the watchdog: a JSON array per line, so no path can smuggle in a second message. */
export function watchdogMessage(op: WatchdogOp, arg: string | number): string {
  return `${JSON.stringify([op, arg])}\n`;
}

/** A watchdog for this process (exported for tests, which play its owner through its stdin). */
export function spawnWatchdog(): ChildProcess {
  const source = WATCHDOG_SOURCE.replace('GRACE_MS_PLACEHOLDER', String(GRACE_MS));
  return spawn(process.execPath, ['-e', source], {
    detached: true, // its own session: a Ctrl-C to our process group doesn't kill the watchdog
    stdio: ['pipe', 'ignore', 'ignore'],
    env: { REAPER_OWNER_PID: String(process.pid) },
  });
}

function ensureWatchdog(): ChildProcess | undefined {
  if (watchdog && watchdog.exitCode === null && watchdog.stdin && !watchdog.stdin.destroyed) return watchdog;
  const child = spawnWatchdog();
  child.on('error', () => undefined);
  child.stdin?.on('error', () => undefined);
  // Neither the watchdog nor its pipe may keep the owner's event loop alive.
  child.unref();
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  watchdog = child;
  return child;
}

function send(op: WatchdogOp, arg: string | number): void {
  ensureWatchdog()?.stdin?.write(watchdogMessage(op, arg));
}

/** The watchdog kills this process group (or pid) if we die holding it. */
export function guardProcess(pid: number): void {
  send('+pid', pid);
}

export function releaseProcess(pid: number): void {
  if (watchdog) send('-pid', pid);
}

/** The watchdog removes this path (recursively) if we die holding it. */
export function guardPath(path: string): void {
  send('+path', path);
}

export function releasePath(path: string): void {
  if (watchdog) send('-path', path);
}

/** The watchdog removes this claim file if we die, unless it no longer names us by then. */
export function guardClaim(path: string): void {
  send('+claim', path);
}

export function releaseClaim(path: string): void {
  if (watchdog) send('-claim', path);
}

/** The watchdog's pid, for tests. */
export function watchdogPid(): number | undefined {
  return watchdog?.pid;
}
