/**
 * The tracer daemon on the USDT emitter (real daemon process, real bpftrace, real uprobes): two
 * client processes share one bpftrace and each gets exactly its own events; a client killed
 * mid-lease gives its lease back; bpftrace's loss and death reach every client; the vitest
 * globalSetup serves two worker processes with one bpftrace and leaves nothing behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { guardProcess, releaseProcess } from '../harness/common/child-process/reaper.js';
import { RemotePool } from '../tracing/bpftrace/daemon/client.js';
import { launchTracerDaemon, type LaunchedDaemon, type LaunchOptions } from '../tracing/bpftrace/daemon/launch.js';
import { TRACER_SOCKET_ENV, type DaemonStatus } from '../tracing/bpftrace/daemon/protocol.js';
import { UsdtTracer } from '../tracing/bpftrace/usdt-tracer.js';
import type { TraceEvent } from '../tracing/events.js';
import type { TraceTarget } from '../tracing/tracer.js';
import { buildSkipReason } from './helpers/built.js';
import { buildEmitter, Emitter, emitterSkipReason } from './helpers/emitter.js';
import { isAlive, processesNamed, waitForExit } from './helpers/processes.js';
import { ListSink } from './helpers/list-sink.js';

const here = dirname(fileURLToPath(import.meta.url));
const skip = emitterSkipReason() ?? (buildSkipReason() || undefined);
const TP = 'net:inbound_message' as const;

const message = (peer_id: number) => ({ peer_id, peer_addr: '127.0.0.1:18444', peer_conn_type: 'inbound', msg_type: 'ping', msg_size: 8, msg: '0102030405060708' });
const peerIds = (events: readonly TraceEvent[]) => events.map((e) => (e.args as { peer_id: number }).peer_id);

async function until(done: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function targetFor(emitter: Emitter, elfPath: string): TraceTarget {
  return { index: 0, pid: emitter.pid, debugLogPath: '/dev/null', elfPath, resolvePeer: async () => undefined };
}

type ChildFact = { attachedMs?: number; event?: number; error?: string; message?: string; detached?: boolean };

/** test/helpers/daemon-tracer-child.mjs running in its own Node process: a second worker. */
class ChildTracer {
  readonly facts: ChildFact[] = [];
  private stderr = '';
  readonly exited: Promise<void>;

  constructor(private readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => this.facts.push(JSON.parse(line) as ChildFact));
    child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  static start(socketPath: string, elfPath: string, pid: number, prepare = false): ChildTracer {
    const child = spawn(process.execPath, [join(here, 'helpers/daemon-tracer-child.mjs'), elfPath, String(pid), TP, ...(prepare ? ['prepare'] : [])], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, [TRACER_SOCKET_ENV]: socketPath },
    });
    guardProcess(child.pid!);
    return new ChildTracer(child);
  }

  get pid(): number {
    return this.child.pid!;
  }

  async waitFor(test: (fact: ChildFact) => boolean, what: string): Promise<ChildFact> {
    await until(() => this.facts.some(test) || this.child.exitCode !== null, `the child to report ${what}`);
    const found = this.facts.find(test);
    if (!found) throw new Error(`the child exited (${this.child.exitCode}) before reporting ${what}:\n${this.stderr}`);
    return found;
  }

  events(): number[] {
    return this.facts.flatMap((f) => (f.event === undefined ? [] : [f.event]));
  }

  errors(): string[] {
    return this.facts.flatMap((f) => (f.error === undefined ? [] : [f.error]));
  }

  async detach(): Promise<void> {
    this.child.stdin!.write('detach\n');
    await this.waitFor((f) => f.detached === true, 'detached');
    await this.exited;
  }

  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
    releaseProcess(this.pid);
  }
}

describe.skipIf(skip)('the tracer daemon on the USDT emitter', () => {
  let elfPath: string;
  const cleanups: (() => Promise<void>)[] = [];
  const daemons: LaunchedDaemon[] = [];
  /** Every bpftrace a daemon reported running: none may survive the test. */
  const bpftraces = new Set<number>();

  beforeAll(async () => {
    elfPath = await buildEmitter('daemon-test');
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    for (const daemon of daemons.splice(0)) {
      expect(isAlive(daemon.pid)).toBe(false);
      expect(existsSync(dirname(daemon.socketPath))).toBe(false);
    }
    expect(await waitForExit([...bpftraces], 5000)).toEqual([]);
    bpftraces.clear();
  });

  async function startDaemon(options: LaunchOptions = {}): Promise<{ daemon: LaunchedDaemon; pool: RemotePool; status(): Promise<DaemonStatus> }> {
    const daemon = await launchTracerDaemon(options);
    daemons.push(daemon);
    cleanups.push(() => daemon.stop());
    const pool = new RemotePool(daemon.socketPath);
    cleanups.push(() => pool.shutdown());
    const status = async () => {
      const s = await pool.status();
      for (const pid of s.bpftraceRunning) bpftraces.add(pid);
      return s;
    };
    return { daemon, pool, status };
  }

  async function emitter(): Promise<Emitter> {
    const e = await Emitter.start(elfPath);
    cleanups.push(() => e.stop());
    return e;
  }

  function childTracer(socketPath: string, e: Emitter, prepare = false): ChildTracer {
    const child = ChildTracer.start(socketPath, elfPath, e.pid, prepare);
    cleanups.push(() => child.kill());
    return child;
  }

  async function localTracer(pool: RemotePool, e: Emitter): Promise<{ tracer: UsdtTracer; sink: ListSink; attachMs: number }> {
    const tracer = new UsdtTracer({ pool, tracepoints: [TP] });
    const sink = new ListSink();
    const started = process.hrtime.bigint();
    await tracer.attach([targetFor(e, elfPath)], sink, started);
    const attachMs = Number(process.hrtime.bigint() - started) / 1e6;
    cleanups.push(() => tracer.detach());
    return { tracer, sink, attachMs };
  }

  it('two processes share one bpftrace and each gets exactly its own events, in order; the second attach is warm', async () => {
    const { daemon, pool, status } = await startDaemon();
    const [e1, e2] = [await emitter(), await emitter()];

    const a = await localTracer(pool, e1); // cold: the daemon starts bpftrace
    const b = childTracer(daemon.socketPath, e2, true); // prepared (every pid), as Network does: must still keep only its own
    const warmMs = (await b.waitFor((f) => f.attachedMs !== undefined, 'attached')).attachedMs!;

    const s = await status();
    expect(s).toMatchObject({ bpftraceSpawned: 1, sessions: 1, clients: 2, leases: 2 });
    expect(processesNamed('bpftrace').filter((p) => p.ppid === daemon.pid).map((p) => p.pid)).toEqual(s.bpftraceRunning);

    for (let k = 0; k < 20; k++) {
      await e1.fire(TP, message(k));
      await e2.fire(TP, message(100 + k));
    }
    await until(() => a.sink.events.length === 20, 'the local tracer’s 20 events');
    await a.tracer.detach();
    await b.detach();

    expect(peerIds(a.sink.events)).toEqual(Array.from({ length: 20 }, (_, k) => k));
    expect(b.events()).toEqual(Array.from({ length: 20 }, (_, k) => 100 + k));
    expect(a.sink.errors).toEqual([]);
    expect(b.errors()).toEqual([]);
    expect((await status()).bpftraceSpawned).toBe(1);
    // Figures for the report: the first attach pays bpftrace's start, the second process only a round trip.
    console.log(`tracer daemon: cold attach (bpftrace started) ${a.attachMs.toFixed(1)} ms; second process attach ${warmMs.toFixed(1)} ms`);
    expect(warmMs).toBeLessThan(a.attachMs);
  });

  it('a client SIGKILLed while holding a lease gives it back; the session stops once keep-alive runs out', async () => {
    const { daemon, status } = await startDaemon({ keepAliveMs: 1000 });
    const child = childTracer(daemon.socketPath, await emitter());
    await child.waitFor((f) => f.attachedMs !== undefined, 'attached');
    const before = await status();
    expect(before).toMatchObject({ sessions: 1, leases: 1, bpftraceRunning: [expect.any(Number)] });

    await child.kill();
    await until(async () => (await status()).leases === 0, 'the dead client’s lease to be released');
    expect((await status()).bpftraceRunning).toEqual(before.bpftraceRunning); // kept alive, idle
    await until(async () => {
      const s = await status();
      return s.sessions === 0 && s.bpftraceRunning.length === 0;
    }, 'keep-alive to stop the idle session and its bpftrace', 5000);
    expect(isAlive(before.bpftraceRunning[0]!)).toBe(false);
  });

  it('bpftrace dying fails every client’s trace with TRACER_FAILED, and the next acquire starts a fresh one', async () => {
    const { daemon, pool, status } = await startDaemon();
    const [e1, e2] = [await emitter(), await emitter()];
    const a = await localTracer(pool, e1);
    const b = childTracer(daemon.socketPath, e2);
    await b.waitFor((f) => f.attachedMs !== undefined, 'attached');
    const [bpftrace] = (await status()).bpftraceRunning;

    process.kill(bpftrace!, 'SIGKILL');
    await until(() => a.sink.errors.some((e) => e.code === 'TRACER_FAILED'), 'TRACER_FAILED in this process');
    const failure = await b.waitFor((f) => f.error === 'TRACER_FAILED', 'TRACER_FAILED');
    expect(failure.message).toMatch(/bpftrace died while tracing.*signal SIGKILL/);
    expect((await status()).sessions).toBe(0);

    const again = await localTracer(pool, await emitter());
    expect(again.sink.errors).toEqual([]);
    expect(await status()).toMatchObject({ bpftraceSpawned: 2, sessions: 1 });
  });

  it('loss reaches every client of the session as TRACE_EVENTS_LOST', async () => {
    // One 4 KiB page per CPU and full payload capture: the ring must overflow.
    const { daemon, pool } = await startDaemon({ perfRingPages: 1 });
    const [e1, e2] = [await emitter(), await emitter()];
    const a = await localTracer(pool, e1);
    const b = childTracer(daemon.socketPath, e2);
    await b.waitFor((f) => f.attachedMs !== undefined, 'attached');

    expect(await e1.burst(TP, 100_000, 250)).toBe(100_000);
    await a.tracer.detach(); // syncs: every record is read or counted lost by now
    expect(a.sink.errors.map((e) => e.code)).toContain('TRACE_EVENTS_LOST');
    expect(a.sink.events.length).toBeLessThan(100_000);
    // The other process traced nothing that was lost, but a lost record has no pid: it is told too.
    const lost = await b.waitFor((f) => f.error === 'TRACE_EVENTS_LOST', 'TRACE_EVENTS_LOST');
    expect(lost.message).toMatch(/lost \d+ trace records/);
    expect(b.events()).toEqual([]);
  });

  it('a launcher that dies (SIGKILL) takes the daemon, its bpftrace and its socket with it', async () => {
    const launcher = spawn(process.execPath, [join(here, 'helpers/daemon-launcher-child.mjs'), elfPath, TP], { stdio: ['ignore', 'pipe', 'inherit'] });
    guardProcess(launcher.pid!);
    const exited = new Promise((resolve) => launcher.once('exit', resolve));
    cleanups.push(async () => {
      launcher.kill('SIGKILL');
      await exited;
      releaseProcess(launcher.pid!);
    });
    const [line] = (await once(createInterface({ input: launcher.stdout! }), 'line')) as [string];
    const { daemonPid, socketPath, bpftracePid } = JSON.parse(line) as { daemonPid: number; socketPath: string; bpftracePid: number };
    expect(processesNamed('bpftrace').filter((p) => p.ppid === daemonPid).map((p) => p.pid)).toEqual([bpftracePid]);

    launcher.kill('SIGKILL');
    await exited;
    expect(await waitForExit([daemonPid, bpftracePid], 5000)).toEqual([]);
    await until(() => !existsSync(dirname(socketPath)), 'the socket directory to be removed', 5000);
  });

  it('the vitest globalSetup: two worker processes share one bpftrace; no daemon, bpftrace or socket is left after the run', async () => {
    const out = await mkdtemp(join(tmpdir(), 'tracer-run-'));
    cleanups.push(() => rm(out, { recursive: true, force: true }));
    const env: NodeJS.ProcessEnv = { ...process.env, TRACER_RUN_EMITTER: elfPath, TRACER_RUN_OUT: out };
    delete env[TRACER_SOCKET_ENV]; // the nested run starts its own daemon
    const result = await execa('npx', ['vitest', 'run', '--config', join(here, 'fixtures/tracer-daemon-run/vitest.config.ts')], {
      reject: false,
      env,
      extendEnv: false,
      all: true,
    });
    expect(result.exitCode, result.all).toBe(0);

    const records = await Promise.all((await readdir(out)).map(async (f) => JSON.parse(await readFile(join(out, f), 'utf8'))));
    expect(records).toHaveLength(2);
    expect(new Set(records.map((r) => r.pid)).size).toBe(2); // two worker processes
    expect(records.every((r) => r.remote && r.socket === records[0].socket)).toBe(true); // the env reached both
    expect(new Set(records.map((r) => r.status.pid)).size).toBe(1); // one daemon
    expect(records.map((r) => r.status.bpftraceSpawned)).toEqual([1, 1]); // one bpftrace for both
    expect(records.map((r) => r.peers).sort()).toEqual([[100, 101, 102, 103, 104], [200, 201, 202, 203, 204]]);
    expect(records.flatMap((r) => r.errors)).toEqual([]);

    // The daemon was stopped by the teardown: process gone, socket directory removed, no bpftrace left.
    const daemonPid: number = records[0].status.pid;
    expect(await waitForExit([daemonPid], 5000)).toEqual([]);
    expect(existsSync(dirname(records[0].socket))).toBe(false);
    expect(processesNamed('bpftrace').filter((p) => p.ppid === daemonPid)).toEqual([]);
    console.log(`globalSetup run: worker attach ${records.map((r) => `${r.attachMs.toFixed(1)} ms`).join(', ')}`);
  });
});
