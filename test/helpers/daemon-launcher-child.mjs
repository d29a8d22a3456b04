// A launcher that dies for test/tracer-daemon.test.ts: starts the tracer daemon as the vitest
// globalSetup would (dist/), has it start bpftrace, reports the pids, then waits to be SIGKILLed.
//
//   node daemon-launcher-child.mjs ELF TRACEPOINT
import { setInterval } from 'node:timers';

const [elfPath, tracepoint] = process.argv.slice(2);
const dist = (path) => new URL(`../../dist/tracing/bpftrace/${path}`, import.meta.url).href;
const { launchTracerDaemon } = await import(dist('daemon/launch.js'));
const { RemotePool } = await import(dist('daemon/client.js'));

const daemon = await launchTracerDaemon();
const pool = new RemotePool(daemon.socketPath);
const lease = await pool.acquire({ elfPath, tracepoints: [tracepoint] }, { record() {}, lost() {}, failed() {} });
process.stdout.write(`${JSON.stringify({ daemonPid: daemon.pid, socketPath: daemon.socketPath, bpftracePid: lease.bpftracePid() })}\n`);
setInterval(() => undefined, 60_000);
