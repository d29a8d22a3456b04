/**
 * A vitest globalSetup that makes one bpftrace per bitcoind binary serve the whole test run,
 * every worker process included: it starts the tracer daemon in vitest's main process and hands
 * its socket to the workers, whose USDT tracers then lease sessions from it (tracerPool()).
 * Attaching costs 0.5–2 s per binary; with this it is paid once per run instead of per worker.
 *
 *   // vitest.config.ts
 *   export default defineConfig({
 *     test: { globalSetup: ['regtest-harness/vitest/global-setup'] },
 *   });
 *
 * Where USDT cannot run (not root, no passwordless sudo, no bpftrace) it starts nothing, and
 * tracers behave as without it. At the end of the run the daemon stops its bpftrace sessions and
 * its socket is removed; if vitest dies instead, the daemon sees its lifeline pipe close and does
 * the same (and the reaper backs that up).
 */
import { launchTracerDaemon } from '../../tracing/bpftrace/daemon/launch.js';
import { TRACER_SOCKET_ENV } from '../../tracing/bpftrace/daemon/protocol.js';
import { bpftraceBinary, tracerPrivilege } from '../../tracing/bpftrace/session.js';

/** Why no daemon is started here, or undefined when one is. */
export function tracerDaemonSkipReason(): string | undefined {
  if (process.env[TRACER_SOCKET_ENV]) return `${TRACER_SOCKET_ENV} is already set: that daemon serves this run`;
  if (process.platform !== 'linux') return 'USDT tracing needs Linux';
  if (!bpftraceBinary()) return 'bpftrace is not installed';
  const privilege = tracerPrivilege();
  if (privilege.kind === 'none') return privilege.reason;
  return undefined;
}

export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  if (tracerDaemonSkipReason() !== undefined) return undefined;
  const daemon = await launchTracerDaemon();
  // Workers are forked with the main process's environment as it is when the run starts (vitest 4).
  process.env[TRACER_SOCKET_ENV] = daemon.socketPath;
  return async () => {
    if (process.env[TRACER_SOCKET_ENV] === daemon.socketPath) delete process.env[TRACER_SOCKET_ENV];
    await daemon.stop();
  };
}
