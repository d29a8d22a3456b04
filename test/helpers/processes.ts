import { readFileSync, readdirSync } from 'node:fs';

/** Live processes whose /proc/PID/comm is `name` (e.g. bitcoind), with their parent pid. */
export function processesNamed(name: string): { pid: number; ppid: number }[] {
  const found: { pid: number; ppid: number }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (comm === name && state[0] !== 'Z') found.push({ pid: Number(entry), ppid: Number(state[1]) });
    } catch {
      // exited while we looked
    }
  }
  return found;
}

/** bitcoind processes this test process started (children of it). */
export function ourBitcoinds(): number[] {
  return processesNamed('bitcoind').filter((p) => p.ppid === process.pid).map((p) => p.pid);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resolves once none of `pids` is alive, or after `timeoutMs` with the survivors. */
export async function waitForExit(pids: readonly number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = pids.filter(isAlive);
    if (alive.length === 0 || Date.now() > deadline) return alive;
    await new Promise((r) => setTimeout(r, 100));
  }
}
