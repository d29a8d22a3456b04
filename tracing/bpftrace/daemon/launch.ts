/**
 * Starts the tracer daemon (main.ts) as a child process and stops it: what a vitest globalSetup
 * (or any long-lived runner) calls. The daemon lives in a private directory (mode 0700, so only
 * this user can reach its socket) that is removed on stop, and both the daemon and that directory
 * are guarded by the reaper: nothing outlives the launcher, even if it is SIGKILLed.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { HarnessError } from '../../../harness/common/errors.js';
import { guardPath, guardProcess, releasePath, releaseProcess } from '../../../harness/common/child-process/reaper.js';

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

  const child = spawn(process.execPath, args, {
    // Its own process group: a Ctrl-C reaches the launcher, whose teardown stops the daemon in order.
    detached: true,
    // stdin is the lifeline (EOF when we die); stderr is shared so its messages reach the user.
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  // A spawn failure arrives as an 'error' event: never let it become an uncaught exception.
  child.on('error', () => undefined);
  if (child.pid === undefined) {
    await rm(dir, { recursive: true, force: true });
    releasePath(dir);
    throw new HarnessError('TRACER_FAILED', 'cannot start the tracer daemon', { fix: `check that ${process.execPath} can run ${args[0]}` });
  }
  const pid = child.pid;
  guardProcess(pid);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // The launcher may exit while the daemon runs (vitest's teardown stops it); the pipe must not hold it.
  child.unref();
  (child.stdin as unknown as { unref?: () => void }).unref?.();
  child.stdin!.on('error', () => undefined);

  const cleanUp = async () => {
    await rm(dir, { recursive: true, force: true });
    releasePath(dir);
    releaseProcess(pid);
  };
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-pid, name);
    } catch {
      /* already gone */
    }
  };

  try {
    await new Promise<void>((resolve, reject) => {
      const timeoutMs = options.startTimeoutMs ?? 10_000;
      const timer = setTimeout(() => reject(new Error(`it did not listen within ${timeoutMs} ms`)), timeoutMs);
      const lines = createInterface({ input: child.stdout! });
      lines.once('line', (line) => {
        clearTimeout(timer);
        lines.close();
        (child.stdout as unknown as { unref?: () => void }).unref?.();
        if (line === `listening ${socketPath}`) resolve();
        else reject(new Error(`it said '${line}'`));
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`it exited (code ${child.exitCode ?? 'none'}, signal ${child.signalCode ?? 'none'})`));
      });
    });
  } catch (error) {
    signal('SIGKILL');
    await exited;
    await cleanUp();
    throw new HarnessError('TRACER_FAILED', `the tracer daemon did not start: ${(error as Error).message}`, {
      fix: 'read the daemon’s stderr above; run `node dist/tracing/bpftrace/daemon/main.js --socket /tmp/t.sock` to try it alone',
      cause: error,
    });
  }

  let stopping: Promise<void> | undefined;
  return {
    pid,
    socketPath,
    stop: (graceMs = 5000) =>
      (stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          signal('SIGTERM');
          const timer = setTimeout(() => signal('SIGKILL'), graceMs);
          await exited;
          clearTimeout(timer);
        }
        await cleanUp();
      })()),
  };
}
