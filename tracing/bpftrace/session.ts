/**
 * One bpftrace process running a generated program: privilege (root or `sudo -n`), tracefs,
 * spawn in its own process group, a readiness barrier, output parsing, lost-event and death
 * reporting, and a clean stop that leaves nothing running.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { ChildExitedError, ChildProcessHandle, ReadyTimeoutError } from '../../harness/common/child-process/index.js';
import { HarnessError } from '../../harness/common/errors.js';
import { budget, DEFAULT_TIMEOUTS, makeTiming } from '../../harness/common/timing.js';
import { FLUSH_PID, type BpftraceProgram } from './program.js';
import { BpftraceOutputParser, type RawRecord } from './parse.js';
import { locateBpftrace } from './locate.js';
import { emptyBtfPath } from './empty-btf.js';
import { findOnPath } from '../../harness/common/find-on-path.js';

/** bpftrace 0.17 prints this on every run here; programs load fine (docs/sources.md, "bpftrace 0.17"). */
const HARMLESS_STDERR = [/couldn't set RLIMIT_MEMLOCK/];
const STDERR_KEEP = 64 * 1024;
const TRACEFS = '/sys/kernel/tracing';
/** Per-CPU perf ring size in 4 KiB pages; 1024 = 4 MiB, enough for regtest bursts with payloads. */
export const DEFAULT_PERF_RING_PAGES = 1024;

export interface SessionListener {
  record(record: RawRecord): void;
  /** `count` more records were lost (running total in `total`): bpftrace said so, or a flush line's hit count showed it. */
  lost(count: number, total: number): void;
  /** bpftrace died on its own after the barrier. */
  failed(error: HarnessError): void;
}

export interface SessionOptions {
  /** BPFTRACE_PERF_RB_PAGES (per CPU); a power of two. */
  perfRingPages?: number;
  /** Called with bpftrace's pid (= its process group) right after spawn (the reaper already guards it). */
  onSpawn?(pid: number): void;
  /** Called when that process has exited. */
  onExit?(pid: number): void;
  /** How long the barrier may take before it counts as a failure (default: the 'tracerAttach' budget, harness/common/timing.ts). */
  readyTimeoutMs?: number;
  bpftracePath?: string;
}

export interface SessionStats {
  receivedRecords: number;
  lostRecords: number;
  completeHits: number;
  incompleteHits: number;
}

/** CPUs this process (and the processes it starts) may run on; others never produce records for us. */
function allowedCpus(): number[] {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const list = /^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1];
    if (list) {
      return list.split(',').flatMap((range) => {
        const [from, to] = range.split('-').map(Number) as [number, number | undefined];
        return Array.from({ length: (to ?? from) - from + 1 }, (_, k) => from + k);
      });
    }
  } catch {
    /* not Linux procfs: fall back to every CPU */
  }
  return cpus().map((_, k) => k);
}

export type Privilege = { kind: 'root' } | { kind: 'capabilities' } | { kind: 'sudo' } | { kind: 'none'; reason: string };

/** CAP_PERFMON (38) and CAP_BPF (39): what attaching uprobes and loading programs need without root. */
const TRACING_CAPABILITIES = (1n << 38n) | (1n << 39n);

/** Whether `mask` (a /proc/PID/status Cap* hex field) holds both tracing capabilities. */
export function hasTracingCapabilities(status: string, field = 'CapAmb'): boolean {
  const hex = new RegExp(`^${field}:\\s*([0-9a-f]+)`, 'mi').exec(status)?.[1];
  return hex !== undefined && (BigInt(`0x${hex}`) & TRACING_CAPABILITIES) === TRACING_CAPABILITIES;
}

let privilegeMemo: Privilege | undefined;

/**
 * Whether bpftrace can run with the needed privileges: as root, with CAP_BPF and CAP_PERFMON in
 * the ambient set (inherited by the bpftrace we spawn), or through passwordless sudo. Cheap
 * checks only (no trial bpftrace run); remembered for the process.
 */
export function tracerPrivilege(): Privilege {
  if (privilegeMemo) return privilegeMemo;
  if (process.getuid?.() === 0) return (privilegeMemo = { kind: 'root' });
  let status = '';
  try {
    status = readFileSync('/proc/self/status', 'utf8');
  } catch {
    /* no procfs: no capabilities to see */
  }
  if (hasTracingCapabilities(status)) return (privilegeMemo = { kind: 'capabilities' });
  const sudo = findOnPath('sudo');
  if (sudo && spawnSync(sudo, ['-n', 'true'], { stdio: 'ignore', timeout: DEFAULT_TIMEOUTS.probeProcess }).status === 0) return (privilegeMemo = { kind: 'sudo' });
  return (privilegeMemo = { kind: 'none', reason: sudo ? 'not root, no CAP_BPF+CAP_PERFMON, and `sudo -n` needs a password' : 'not root, no CAP_BPF+CAP_PERFMON, and sudo is not installed' });
}

/** The bpftrace the tracer runs (tracing/bpftrace/locate.ts: the private root's or the system's). */
export function bpftraceBinary(): string | undefined {
  return locateBpftrace()?.path;
}

function permissionError(reason: string): HarnessError {
  return new HarnessError('TRACER_PERMISSION', `bpftrace needs root to attach USDT probes (${reason})`, {
    fix: 'run as root, or configure passwordless sudo for this user (the tracer checks `sudo -n true`, then runs `sudo -n env … bpftrace` and `sudo -n kill`), or use the debug.log tracer (--tracer log)',
  });
}

/** Mounts tracefs when missing (as root): without it bpftrace 0.17 cannot detach cleanly. */
function ensureTracefs(privilege: Privilege): void {
  if (privilege.kind !== 'root' || existsSync(`${TRACEFS}/uprobe_events`)) return;
  spawnSync('mount', ['-t', 'tracefs', 'nodev', TRACEFS], { stdio: 'ignore', timeout: DEFAULT_TIMEOUTS.probeProcess });
}

export class BpftraceSession {
  readonly program: BpftraceProgram;
  private readonly parser: BpftraceOutputParser;
  private readonly listeners = new Set<SessionListener>();
  private readonly backlog: RawRecord[] = [];
  private child: ChildProcessHandle | undefined;
  private stderr = '';
  private stderrPartial = '';
  /** Pids of the kill commands whose BTFLUSH line has been read, while a sync() waits for them. */
  private readonly flushedBy = new Set<number>();
  private syncsInFlight = 0;
  private flushWaiters: (() => void)[] = [];
  private stopping = false;
  private spawnedAt = 0n;
  /** ns from spawn to the barrier. */
  attachNs: bigint | undefined;

  private constructor(program: BpftraceProgram, private readonly options: SessionOptions) {
    this.program = program;
    this.parser = new BpftraceOutputParser(program);
  }

  /** Spawns bpftrace and resolves once its probes are attached (the barrier). */
  static async start(program: BpftraceProgram, options: SessionOptions = {}): Promise<BpftraceSession> {
    const session = new BpftraceSession(program, options);
    await session.spawn();
    return session;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child?.running ?? false;
  }

  addListener(listener: SessionListener): void {
    this.listeners.add(listener);
    // Records read between the barrier and the first listener (same stdout chunk as the marker).
    const backlog = this.backlog.splice(0);
    for (const record of backlog) listener.record(record);
  }

  removeListener(listener: SessionListener): void {
    this.listeners.delete(listener);
  }

  stats(): SessionStats {
    const p = this.parser;
    return { receivedRecords: p.receivedRecords, lostRecords: p.lostRecords, completeHits: p.completeHits, incompleteHits: p.incompleteHits };
  }

  /** bpftrace's stderr without the harmless noise, for failure reports. */
  diagnostics(): string {
    return this.stderr;
  }

  private async spawn(): Promise<void> {
    const bpftrace = this.options.bpftracePath ?? bpftraceBinary();
    if (!bpftrace) {
      throw new HarnessError('TRACER_FAILED', 'bpftrace is not installed', { fix: 'install it (`apt-get install bpftrace`) or use the debug.log tracer' });
    }
    const privilege = tracerPrivilege();
    if (privilege.kind === 'none') throw permissionError(privilege.reason);
    ensureTracefs(privilege);

    const pages = this.options.perfRingPages ?? DEFAULT_PERF_RING_PAGES;
    if (!Number.isInteger(pages) || pages < 1 || (pages & (pages - 1)) !== 0) {
      throw new HarnessError('BAD_OPTION', `perfRingPages ${pages} is not a power of two`, { fix: 'pass a power of two such as 64, 1024 or 4096' });
    }
    // One-body programs (bpftrace ≥ 0.20) skip parsing the kernel's BTF (empty-btf.ts), unless the user chose a BTF file.
    const btf = this.program.oneBody && process.env.BPFTRACE_BTF === undefined ? emptyBtfPath() : undefined;
    const env = { ...this.program.env, BPFTRACE_PERF_RB_PAGES: String(pages), ...(btf ? { BPFTRACE_BTF: btf } : {}) };
    // -B line: each record reaches us when printed (the barrier line above all).
    const args = ['-B', 'line', '-e', this.program.text];
    const [command, argv] =
      privilege.kind !== 'sudo'
        ? [bpftrace, args]
        : ['sudo', ['-n', 'env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), bpftrace, ...args]];

    this.spawnedAt = process.hrtime.bigint();
    let child: ChildProcessHandle;
    try {
      child = await ChildProcessHandle.spawn('bpftrace', command, argv, {
        env: { ...process.env, ...env },
        stdout: 'pipe',
        viaSudo: privilege.kind === 'sudo', // bpftrace then runs as root: only root may signal its group
        onStderr: (chunk) => this.keepStderr(chunk),
      });
    } catch (error) {
      throw new HarnessError('TRACER_FAILED', `cannot start bpftrace: ${(error as Error).message}`, { fix: 'check that bpftrace is installed and executable', cause: error });
    }
    this.child = child;
    this.options.onSpawn?.(child.pid);
    // 'close' (harness/common/child-process/spawn.ts): exited and stdout read to the end, so no record arrives later.
    void child.exited.then(() => {
      this.options.onExit?.(child.pid);
      if (this.stopping || this.attachNs === undefined) return;
      const error = this.failure('bpftrace died while tracing', 'read its stderr below; the trace after this point is incomplete');
      for (const l of this.listeners) l.failed(error);
    });

    let attached: () => void = () => undefined;
    const barrier = new Promise<void>((resolve) => {
      attached = resolve;
    });
    child.lines().on('line', (line) => {
      const parsed = this.parser.push(line);
      switch (parsed.kind) {
        case 'ready':
          // bpftrace runs BEGIN only after attaching every probe ("Attaching N probes" comes before):
          // on the emitter, the semaphore was up and the next hit traced right after this line, every
          // time (test/bpftrace-session.test.ts, bench/tracer-attach.ts).
          this.attachNs = process.hrtime.bigint() - this.spawnedAt;
          attached();
          break;
        case 'records':
          for (const record of parsed.records) {
            if (this.listeners.size === 0) this.backlog.push(record);
            else for (const l of this.listeners) l.record(record);
          }
          break;
        case 'lost':
          if (parsed.count > 0) for (const l of this.listeners) l.lost(parsed.count, this.parser.lostRecords);
          break;
        case 'flush':
          // Any kill's flush line (ours or not) can show a loss: see program.ts HIT_COUNTER.
          if (parsed.lost > 0) for (const l of this.listeners) l.lost(parsed.lost, this.parser.lostRecords);
          if (this.syncsInFlight === 0) break; // someone else's kill, or a sync that gave up
          this.flushedBy.add(parsed.pid);
          for (const wake of this.flushWaiters.splice(0)) wake();
          break;
        case 'other':
          this.keepStderr(`stdout: ${line}\n`);
      }
    });

    const timeoutMs = this.options.readyTimeoutMs ?? budget(makeTiming(), 'tracerAttach');
    try {
      await child.ready(() => barrier, { timeoutMs, what: 'the probe attach' });
    } catch (error) {
      await this.stop();
      if (error instanceof ChildExitedError) {
        await child.exited; // its stderr read to the end: the evidence
        throw this.failure('bpftrace exited before its probes were attached', 'read its stderr below: usually a probe this binary lacks, or a program the kernel refused');
      }
      if (error instanceof ReadyTimeoutError) throw this.failure(`bpftrace did not attach within ${timeoutMs} ms`, 'check the load on this machine, or trace fewer tracepoints');
      throw error;
    }
  }

  /** Keeps whole lines (a harmless line may arrive split over chunks), minus the harmless ones. */
  private keepStderr(chunk: string): void {
    const lines = (this.stderrPartial + chunk).split('\n');
    this.stderrPartial = lines.pop() ?? '';
    const kept = lines.filter((line) => line.trim() !== '' && !HARMLESS_STDERR.some((re) => re.test(line)));
    if (kept.length > 0) this.stderr = (this.stderr + kept.join('\n') + '\n').slice(-STDERR_KEEP);
  }

  /**
   * Resolves once everything the probes wrote before this call has been read, or counted lost:
   * a flush record is written on every CPU (see FLUSH_PID) and waited for.
   * Resolves false when a CPU's flush did not come back within the timeout.
   */
  async sync(timeoutMs: number = DEFAULT_TIMEOUTS.traceFlush): Promise<boolean> {
    if (!this.running) return false;
    const kills: number[] = [];
    let failedCpus = 0;
    this.syncsInFlight += 1; // from here on the BTFLUSH lines are kept (see the 'flush' case)
    try {
      await Promise.all(
        allowedCpus().map(
          (cpu) =>
            new Promise<void>((resolve) => {
              // taskset execs kill in its own process: the pid the BTFLUSH line carries.
              const pinned = spawn('taskset', ['-c', String(cpu), 'kill', '-0', String(FLUSH_PID)], { stdio: 'ignore' });
              if (pinned.pid !== undefined) kills.push(pinned.pid);
              pinned.once('error', () => {
                failedCpus += 1; // no taskset: this CPU cannot be flushed, so sync() must not claim it was
                resolve();
              });
              pinned.once('exit', () => resolve());
            }),
        ),
      );
      if (failedCpus > 0) return false;
      return await this.waitForFlushes(kills, timeoutMs);
    } finally {
      for (const pid of kills) this.flushedBy.delete(pid);
      this.syncsInFlight -= 1;
      if (this.syncsInFlight === 0) this.flushedBy.clear(); // other kill commands' lines, read meanwhile
    }
  }

  private async waitForFlushes(kills: readonly number[], timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    const done = () => kills.every((pid) => this.flushedBy.has(pid));
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0 || !this.running) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 100));
        this.flushWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return true;
  }

  private failure(message: string, fix: string): HarnessError {
    const info = this.child?.exit;
    const exit = info ? ` (exit code ${info.code ?? 'none'}, signal ${info.signal ?? 'none'})` : '';
    return new HarnessError('TRACER_FAILED', message + exit, { fix, evidence: this.stderr.trim() || '(bpftrace wrote nothing to stderr)' });
  }

  /**
   * Ends bpftrace (its whole process group) and resolves once it is told to: SIGKILL sent, our end
   * of its pipes closed, the child unreferenced. It does not wait for the exit: the kernel detaches
   * the uprobes one by one as the dying process closes them, ~0.11 s each (docs/sources.md, "bpftrace 0.17"),
   * and nothing of ours needs to wait for that. `waitForExit()` does, for whoever must see it gone.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child?.running) return;
    // SIGKILL, not SIGINT: bpftrace 0.17 takes 5–8 s to detach 24 uprobes on SIGINT, while on
    // SIGKILL the kernel detaches them as their fds close, and the probes' semaphores drop back to 0
    // (checked on the emitter: test/bpftrace-session.test.ts). Nothing is lost: we print no maps at
    // END, and tracers sync() before releasing, so every record they need has been read already.
    await child.stop({ kill: true, awaitExit: false });
    // A one-shot CLI run may exit now; the dying process finishes its detach on its own, and the
    // reaper (harness/common/child-process/reaper.ts) keeps its pid until it has exited.
    child.letGo();
  }

  /** Resolves once bpftrace has exited: the kernel has finished detaching its uprobes. */
  async waitForExit(): Promise<void> {
    // stop() let go of the child; whoever waits for its exit keeps the process alive till then.
    this.child?.hold();
    await this.child?.exited;
  }
}
