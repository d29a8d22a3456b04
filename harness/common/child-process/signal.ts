import { spawnSync } from 'node:child_process';
import { DEFAULT_TIMEOUTS } from '../timing.js';

/**
 * Signals for the harness's children, each of which leads its own process group (see spawn.ts):
 * signalling the group also reaches whatever it started (a wrapper script's bitcoind). A child
 * that runs as root under `sudo -n` can only be signalled by root, so that goes through `sudo -n kill`.
 */
export function signalGroup(pid: number, signal: NodeJS.Signals, options: { viaSudo?: boolean } = {}): void {
  if (options.viaSudo) {
    spawnSync('sudo', ['-n', 'kill', `-${signal.replace(/^SIG/, '')}`, '--', `-${pid}`], { stdio: 'ignore', timeout: DEFAULT_TIMEOUTS.probeProcess });
    return;
  }
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal); // not a group leader (after all)
    } catch {
      // already gone
    }
  }
}

/** Whether a process with this pid exists (EPERM: it exists but belongs to another user). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
