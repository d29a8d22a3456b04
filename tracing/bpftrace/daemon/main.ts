#!/usr/bin/env node
/**
 * The tracer daemon as a process:
 *
 *   node dist/tracing/bpftrace/daemon/main.js --socket PATH [--keep-alive-ms N] [--perf-ring-pages N] [--watch-stdin]
 *
 * PATH's directory is created with mode 0700 if missing, else must be yours and closed to others;
 * the socket is 0600 (server.ts). Prints `listening PATH` once clients may connect. Stops its bpftrace sessions and exits on
 * SIGTERM or SIGINT, and with --watch-stdin also when its stdin reaches EOF: the launcher holds
 * the other end of that pipe, so the kernel closes it when the launcher dies, however it dies.
 */
import { guardPath, releasePath } from '../../../harness/common/child-process/reaper.js';
import { isHarnessError } from '../../../harness/common/errors.js';
import { startTracerServer } from './server.js';

interface Args {
  socketPath: string;
  keepAliveMs?: number;
  perfRingPages?: number;
  watchStdin: boolean;
}

const USAGE = 'usage: main.js --socket PATH [--keep-alive-ms N] [--perf-ring-pages N] [--watch-stdin]';

function parseArgs(argv: readonly string[]): Args {
  let socketPath: string | undefined;
  const numbers: { keepAliveMs?: number; perfRingPages?: number } = {};
  let watchStdin = false;
  for (let k = 0; k < argv.length; k++) {
    const flag = argv[k];
    const value = () => {
      const v = argv[++k];
      if (v === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    const count = () => {
      const v = Number(value());
      if (!Number.isInteger(v) || v < 0) throw new Error(`${flag} needs a whole number\n${USAGE}`);
      return v;
    };
    if (flag === '--socket') socketPath = value();
    else if (flag === '--keep-alive-ms') numbers.keepAliveMs = count();
    else if (flag === '--perf-ring-pages') numbers.perfRingPages = count();
    else if (flag === '--watch-stdin') watchStdin = true;
    else throw new Error(`unknown argument '${flag}'\n${USAGE}`);
  }
  if (!socketPath) throw new Error(`--socket is required\n${USAGE}`);
  return { socketPath, watchStdin, ...numbers };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const server = await startTracerServer({
    socketPath: args.socketPath,
    keepAliveMs: args.keepAliveMs,
    perfRingPages: args.perfRingPages,
    // If this daemon is SIGKILLed, its watchdog still stops bpftrace (every child is guarded at
    // spawn: harness/common/child-process/spawn.ts) and removes the socket.
  });
  guardPath(args.socketPath);

  let exiting = false;
  const exit = async (why: string) => {
    if (exiting) return;
    exiting = true;
    // SIGTERM is the launcher's normal stop; anything else is worth a line in the test output.
    if (why !== 'SIGTERM') process.stderr.write(`[tracer daemon ${process.pid}] stopping: ${why}\n`);
    await server.stop();
    releasePath(args.socketPath);
    // Reap our bpftrace ourselves once its uprobes are detached (~0.1 s each), so the run ends with
    // nothing left; the launcher's grace period (launch.ts) bounds the wait.
    await server.bpftraceGone();
    process.exit(0);
  };
  process.on('SIGTERM', () => void exit('SIGTERM'));
  process.on('SIGINT', () => void exit('SIGINT'));
  if (args.watchStdin) {
    process.stdin.on('end', () => void exit('its launcher went away'));
    process.stdin.on('error', () => void exit('its launcher went away'));
    process.stdin.resume();
  }
  process.stdout.write(`listening ${server.socketPath}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${isHarnessError(error) ? error.toString() : error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
