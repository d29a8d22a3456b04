/**
 * One bpftrace session per (ELF file, program) shared by every network that runs that binary:
 * attaching costs 0.5–2 s on a real bitcoind, and path mode already sees every process of the
 * binary, so subscribers only say which pids they want. Ref-counted; an optional keep-alive lets a
 * test run pay the attach once. Subscribers talk to the pool through `PoolSubscriber` only, so the
 * cross-worker daemon (daemon/) serves the same acquire/release over a socket.
 */
import { untilAborted } from '../../harness/common/timing.js';
import type { PrepareHooks } from '../tracer.js';
import type { HarnessError } from '../../harness/common/errors.js';
import type { TracepointName } from '../events.js';
import { readProbeNotesCached, type ProbeNote } from '../elf-notes.js';
import type { RawRecord } from './parse.js';
import { generateProgram, type BpftraceProgram } from './program.js';
import { bpftraceVersion, locateBpftrace, supportsOneBody } from './locate.js';
import { BpftraceSession, type SessionListener, type SessionOptions, type SessionStats } from './session.js';

/** How one acquire() is sequenced and ended: a tracer's prepare hooks, passed on. */
export type AcquireHooks = PrepareHooks;

export interface PoolRequest {
  elfPath: string;
  tracepoints: readonly TracepointName[];
  payloadBytes?: number;
  /** Pids wanted from the start, so no record between the barrier and addPid() is missed. */
  pids?: readonly number[];
  /** Every process's records (for a tracer that goes live before its nodes exist, and sorts them out itself). */
  allPids?: boolean;
}

/** What a subscriber receives: records of its pids only; loss and failure concern everyone. */
export interface PoolSubscriber {
  record(record: RawRecord): void;
  lost(count: number, total: number): void;
  failed(error: HarnessError): void;
}

export interface PoolLease {
  readonly program: BpftraceProgram;
  /** Start receiving this process's records. */
  addPid(pid: number): void;
  removePid(pid: number): void;
  stats(): SessionStats;
  diagnostics(): string;
  /** ns from bpftrace's spawn to its barrier. */
  attachNs(): bigint | undefined;
  /** Everything fired before this call has been read or counted lost (see BpftraceSession.sync). */
  sync(): Promise<boolean>;
  /** The shared bpftrace process. */
  bpftracePid(): number | undefined;
  release(): Promise<void>;
}

/**
 * What a tracer needs from a pool: the in-process SessionPool, or a RemotePool that asks the
 * run's tracer daemon (daemon/client.ts) so every worker shares one bpftrace per binary.
 */
export interface TracerPool {
  /**
   * `hooks` (never part of the request: they do not cross to the daemon): `spawned` is called once
   * the bpftrace serving the request runs (at once when one already does); an aborted `signal`
   * rejects with its reason and the subscriber is gone, and a session nobody else wants is stopped
   * once it has started.
   */
  acquire(request: PoolRequest, subscriber: PoolSubscriber, hooks?: AcquireHooks): Promise<PoolLease>;
  probeNotes(elfPath: string): Promise<ProbeNote[]>;
  /** Lets go of everything this pool holds for its process. */
  shutdown(): Promise<void>;
}

export interface PoolOptions extends SessionOptions {
  /** Keep an unused session this long before stopping it (default 0: stop at once). */
  keepAliveMs?: number;
}

interface Entry {
  key: string;
  starting: Promise<BpftraceSession>;
  session?: BpftraceSession;
  /** Each subscriber's pids; null means every pid. */
  subscribers: Map<PoolSubscriber, Set<number> | null>;
  idleTimer?: NodeJS.Timeout;
}

export class SessionPool implements TracerPool {
  private readonly entries = new Map<string, Entry>();
  /** Sessions told to stop whose process may still be detaching (see BpftraceSession.stop). */
  private readonly dying = new Set<BpftraceSession>();

  constructor(private readonly options: PoolOptions = {}) {}

  /** Keep unused sessions this long (a test run sets it so every network reuses one bpftrace per binary). */
  setKeepAlive(ms: number): void {
    this.options.keepAliveMs = ms;
  }

  /** The binary's probe notes, read once per path. */
  probeNotes(elfPath: string): Promise<ProbeNote[]> {
    return readProbeNotesCached(elfPath);
  }

  /** Resolves once the session's probes are live (the barrier). */
  async acquire(request: PoolRequest, subscriber: PoolSubscriber, hooks: AcquireHooks = {}): Promise<PoolLease> {
    hooks.signal?.throwIfAborted();
    const tracepoints = [...new Set(request.tracepoints)].sort();
    const key = JSON.stringify([request.elfPath, tracepoints, request.payloadBytes ?? null]);
    let entry = this.entries.get(key);
    if (entry) hooks.spawned?.();
    else {
      const created: Entry = { key, subscribers: new Map(), starting: this.start(request, tracepoints, hooks.spawned) };
      created.starting.then(
        (session) => {
          created.session = session;
          session.addListener(this.demultiplexer(created));
        },
        () => this.entries.delete(key),
      );
      this.entries.set(key, created);
      entry = created;
    }
    if (entry.idleTimer) clearTimeout(entry.idleTimer);
    entry.idleTimer = undefined;
    const pids = new Set<number>(request.pids ?? []);
    entry.subscribers.set(subscriber, request.allPids ? null : pids);
    const owner = entry;
    let session: BpftraceSession;
    try {
      session = await untilAborted(entry.starting, hooks.signal);
    } catch (error) {
      entry.subscribers.delete(subscriber);
      // Given up on, not failed: whoever else waits keeps the session; if nobody does, it stops once started.
      if (hooks.signal?.aborted) void owner.starting.then(() => this.maybeStop(owner), () => undefined);
      throw error;
    }
    let released = false;
    return {
      program: session.program,
      addPid: (pid) => pids.add(pid),
      removePid: (pid) => pids.delete(pid),
      stats: () => session.stats(),
      diagnostics: () => session.diagnostics(),
      attachNs: () => session.attachNs,
      bpftracePid: () => session.pid,
      sync: () => session.sync(),
      release: async () => {
        if (released) return;
        released = true;
        owner.subscribers.delete(subscriber);
        await this.maybeStop(owner);
      },
    };
  }

  private async start(request: PoolRequest, tracepoints: TracepointName[], spawned?: () => void): Promise<BpftraceSession> {
    const probeNotes = await this.probeNotes(request.elfPath);
    const bpftracePath = this.options.bpftracePath ?? locateBpftrace()?.path;
    // bpftrace ≥ 0.20: one probe body per tracepoint (fewer uprobes) and whole payloads.
    const oneBody = bpftracePath !== undefined && supportsOneBody(bpftraceVersion(bpftracePath));
    const program = generateProgram({ elfPath: request.elfPath, tracepoints, probeNotes, payloadBytes: request.payloadBytes, oneBody });
    const onSpawn = (pid: number) => {
      this.options.onSpawn?.(pid);
      spawned?.();
    };
    return BpftraceSession.start(program, { ...this.options, onSpawn, ...(bpftracePath ? { bpftracePath } : {}) });
  }

  private demultiplexer(entry: Entry): SessionListener {
    return {
      record: (record) => {
        for (const [subscriber, pids] of entry.subscribers) if (pids === null || pids.has(record.pid)) subscriber.record(record);
      },
      // A lost record carries no pid: every subscriber may have lost something.
      lost: (count, total) => {
        for (const subscriber of entry.subscribers.keys()) subscriber.lost(count, total);
      },
      failed: (error) => {
        this.entries.delete(entry.key);
        for (const subscriber of entry.subscribers.keys()) subscriber.failed(error);
      },
    };
  }

  private async maybeStop(entry: Entry): Promise<void> {
    if (entry.subscribers.size > 0) return;
    const keepAlive = this.options.keepAliveMs ?? 0;
    if (keepAlive > 0 && entry.session?.running) {
      entry.idleTimer = setTimeout(() => void this.stopEntry(entry), keepAlive);
      // An idle session must not keep the process alive; the reaper kills it if we exit.
      entry.idleTimer.unref();
      return;
    }
    await this.stopEntry(entry);
  }

  private async stopEntry(entry: Entry): Promise<void> {
    if (entry.subscribers.size > 0) return;
    if (this.entries.get(entry.key) === entry) this.entries.delete(entry.key);
    const session = entry.session ?? (await entry.starting.catch(() => undefined));
    if (session) await this.stopSession(session);
  }

  private async stopSession(session: BpftraceSession): Promise<void> {
    this.dying.add(session);
    void session.waitForExit().then(() => this.dying.delete(session));
    await session.stop();
  }

  /**
   * Resolves once every bpftrace this pool stopped has exited, i.e. the kernel has detached its
   * uprobes. Stopping does not wait for that; a test that checks nothing is left running does.
   */
  async waitForExit(): Promise<void> {
    await Promise.all([...this.dying].map((session) => session.waitForExit()));
  }

  /** Stops every session, used or not (end of a test run). */
  async shutdown(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(
      all.map(async (entry) => {
        if (entry.idleTimer) clearTimeout(entry.idleTimer);
        const session = entry.session ?? (await entry.starting.catch(() => undefined));
        if (session) await this.stopSession(session);
      }),
    );
  }

  /** Sessions currently running or starting. */
  get size(): number {
    return this.entries.size;
  }
}
