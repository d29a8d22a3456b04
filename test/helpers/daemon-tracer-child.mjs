// A second "worker" for test/tracer-daemon.test.ts: a separate Node process that traces one
// emitter process with a UsdtTracer on the built library (dist/). It gives the tracer no pool, so
// the tracer picks the daemon from REGTEST_HARNESS_TRACER_SOCKET exactly as a vitest worker would.
//
//   node daemon-tracer-child.mjs ELF PID TRACEPOINT [prepare]
//
// Prints one JSON line per fact: {attachedMs}, {event: peer_id}, {error: code}, {detached}.
// Reads commands on stdin: `detach` (sync, release, print {detached}, exit 0).
import { createInterface } from 'node:readline';

const [elfPath, pidText, tracepoint, prepare] = process.argv.slice(2);
const dist = (path) => new URL(`../../dist/tracing/bpftrace/${path}`, import.meta.url).href;
const { UsdtTracer, tracerPool } = await import(dist('usdt-tracer.js'));
const { RemotePool } = await import(dist('daemon/client.js'));
const say = (fact) => process.stdout.write(`${JSON.stringify(fact)}\n`);

const pid = Number(pidText);
const target = {
  index: 0,
  pid,
  debugLogPath: '/dev/null',
  elfPath,
  resolvePeer: async () => undefined,
};
const sink = {
  push: (event) => say({ event: event.args.peer_id }),
  fail: (error) => say({ error: error.code, message: error.message }),
};

if (!(tracerPool() instanceof RemotePool)) throw new Error('REGTEST_HARNESS_TRACER_SOCKET did not select the daemon');
const tracer = new UsdtTracer({ tracepoints: [tracepoint] });
const started = process.hrtime.bigint();
if (prepare === 'prepare') await tracer.prepare([elfPath]);
await tracer.attach([target], sink, started);
say({ attachedMs: Number(process.hrtime.bigint() - started) / 1e6 });

createInterface({ input: process.stdin }).on('line', async (line) => {
  if (line === 'detach') {
    await tracer.detach();
    say({ detached: true });
    process.exit(0);
  }
});
