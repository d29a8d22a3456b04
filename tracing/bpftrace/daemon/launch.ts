/**
 * Starts the tracer daemon (main.ts) as a child process and stops it: what a vitest globalSetup
 * (or any long-lived runner) calls. The daemon lives in a private directory (mode 0700, so only
 * this user can reach its socket) that is removed on stop, and both the daemon and that directory
 * are guarded by the reaper: nothing outlives the launcher, even if it is SIGKILLed.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChildProcessHandle, guardPath, releasePath } from '../../../harness/common/child-process/index.js';
import { HarnessError } from '../../../harness/common/errors.js';
import { DEFAULT_TIMEOUTS } from '../../../harness/common/timing.js';

export interface LaunchOptions {
  keepAliveMs?: number;
  perfRingPages?: number;
  /** How long the daemon may take to listen (default 10 s). */
  startTimeoutMs?: number;
}

export interface LaunchedDaemon {
  readonly pid: number;
  readonly socketPath: string;
  /** SIGTERM (the daemon stops bpftrace cleanly), SIGKILL after a grace period; removes the socket directory. */
  stop(graceMs?: number): Promise<void>;
}

/** The built entry: beside this module in dist/, or dist/'s copy when running from the TypeScript sources. */
export function daemonEntry(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'main.js'), join(here, '../../../dist/tracing/bpftrace/daemon/main.js')];
  const found = candidates.find((c) => existsSync(c));
  if (!found) {
    throw new HarnessError('TRACER_FAILED', 'the tracer daemon is not built', {
      fix: 'run `npm run build` (npm test does it), so dist/tracing/bpftrace/daemon/main.js exists',
    });
  }
  return found;
}

export async function launchTracerDaemon(options: LaunchOptions = {}): Promise<LaunchedDaemon> {
  const entry = daemonEntry(); // before making anything that would need cleaning up
  const dir = await mkdtemp(join(tmpdir(), 'regtest-tracer-'));
  guardPath(dir);
  const socketPath = join(dir, 'daemon.sock');
  const args = [entry, '--socket', socketPath, '--watch-stdin'];
  if (options.keepAliveMs !== undefined) args.push('--keep-alive-ms', String(options.keepAliveMs));
  if (options.perfRingPages !== undefined) args.push('--perf-ring-pages', String(options.perfRingPages));

  const cleanUp = async () => {
    await rm(dir, { recursive: true, force: true });
    releasePath(dir);
  };
  let child: ChildProcessHandle;
  try {
    child = await ChildProcessHandle.spawn('the tracer daemon', process.execPath, args, {
      // stdin is the lifeline (EOF when we die); stderr is shared so its messages reach the user.
      stdinLifeline: true,
      stdout: 'pipe',
      stderr: 'inherit',
      // The launcher may exit while the daemon runs (vitest's teardown stops it); no pipe may hold it.
      unref: true,
    });
  } catch (error) {
    await cleanUp();
    throw new HarnessError('TRACER_FAILED', `cannot start the tracer daemon: ${(error as Error).message}`, { fix: `check that ${process.execPath} can run ${args[0]}` });
  }

  try {
    await child.ready(
      () =>
        new Promise<void>((resolve, reject) => {
          const lines = child.lines();
          lines.on('line', (line) => {
            lines.close();
            child.stdout?.destroy(); // it says nothing more on stdout
            if (line === `listening ${socketPath}`) resolve();
            else reject(new Error(`it said '${line}'`));
          });
        }),
      { timeoutMs: options.startTimeoutMs ?? DEFAULT_TIMEOUTS.probeProcess, what: 'listening' },
    );
  } catch (error) {
    await child.kill();
    await cleanUp();
    throw new HarnessError('TRACER_FAILED', `the tracer daemon did not start: ${(error as Error).message}`, {
      fix: 'read the daemon’s stderr above; run `node dist/tracing/bpftrace/daemon/main.js --socket "$(mktemp -d)/d.sock"` to try it alone (the socket must be in a directory only you can access)',
      cause: error,
    });
  }

  return {
    pid: child.pid,
    socketPath,
    // SIGTERM: the daemon stops bpftrace cleanly; SIGKILL after the grace period.
    stop: async (graceMs = DEFAULT_TIMEOUTS.sigtermGrace) => {
      child.hold();
      await child.stop({ termMs: graceMs });
      await cleanUp();
    },
  };
}
