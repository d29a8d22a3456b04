/**
 * The USDT tracer: bitcoind's tracepoints through a pooled bpftrace session per binary, turned
 * into TraceEvents for the harness's nodes.
 */
import { HarnessError } from '../../harness/common/errors.js';
import type { TraceEvent, TracepointName } from '../events.js';
import { hasProbes } from '../elf-notes.js';
import { damagedProbeSites, describeDamagedSite } from '../probe-sites.js';
import { DEFAULT_USDT_TRACEPOINTS, tracepoint } from '../catalog.js';
import { OrderedDelivery } from '../ordered-delivery.js';
import type { EventSink, PeerInfo, PrepareHooks, TraceTarget, Tracer } from '../tracer.js';
import type { RawRecord } from './parse.js';
import { SessionPool, type PoolLease, type PoolSubscriber, type TracerPool } from './pool.js';
import { RemotePool } from './daemon/client.js';
import { TRACER_SOCKET_ENV } from './daemon/protocol.js';

/**
 * The process-wide pool. Its bpftrace processes are guarded by the reaper from spawn to exit
 * (harness/common/child-process/spawn.ts), so a dying owner never leaks one.
 */
export const defaultPool = new SessionPool();

let remotePool: RemotePool | undefined;

/**
 * The pool tracers share unless given one: the run's tracer daemon when the vitest globalSetup
 * started one (one bpftrace per binary for every worker), else `defaultPool` (one per process).
 */
export function tracerPool(): TracerPool {
  const socketPath = process.env[TRACER_SOCKET_ENV];
  if (!socketPath) return defaultPool;
  if (remotePool?.socketPath !== socketPath) remotePool = new RemotePool(socketPath);
  return remotePool;
}

/** Records kept for processes that are not targets yet (a node between spawn and addTarget). */
const MAX_PENDING_RECORDS = 20_000;

export interface UsdtTracerOptions {
  pool?: TracerPool;
  /**
   * Tracepoints to trace. Default: DEFAULT_USDT_TRACEPOINTS (the message and connection ones)
   * that the binary has (v28 lacks the connection ones), plus `extraTracepoints`. Every traced
   * tracepoint is a uprobe that costs ~0.11 s to detach. Named explicitly, a tracepoint the
   * binary lacks is a NO_PROBES error.
   */
  tracepoints?: readonly TracepointName[];
  /** Added to the default set where the binary has them (a scenario's declared needs, e.g. net:misbehaving_connection). */
  extraTracepoints?: readonly TracepointName[];
  /** Payload bytes captured per message (default: the most the bpftrace allows, 200 on 0.17, 4096 from 0.20). */
  payloadBytes?: number;
}

interface Attached {
  lease: PoolLease;
  subscriber: PoolSubscriber;
}

export class UsdtTracer implements Tracer {
  readonly source = 'usdt' as const;
  private readonly pool: TracerPool;
  private readonly byPid = new Map<number, TraceTarget>();
  /** Per ELF path; a promise so concurrent addTarget calls share one acquire. */
  private readonly leases = new Map<string, Promise<Attached>>();
  /** Per node: async peer lookups never reorder a node's events. */
  private readonly deliveries = new Map<number, OrderedDelivery<TraceEvent>>();
  private sink: EventSink | undefined;
  private startedAtNs = 0n;
  private lostReported = 0;
  private lostTotal = 0;
  private readonly lostBaseline = new Map<PoolSubscriber, number>();
  private lastStats = '';
  private readonly notes: string[] = [];

  constructor(private readonly options: UsdtTracerOptions = {}) {
    this.pool = options.pool ?? tracerPool();
  }

  /**
   * Go live on these binaries before any node exists (path mode sees processes started later), so
   * connections made at start-up are traced from their first message. Until a process becomes a
   * target its records wait in a bounded buffer; they are delivered, in order, when it does.
   */
  async prepare(elfPaths: readonly string[], hooks: PrepareHooks = {}): Promise<void> {
    for (const elfPath of new Set(elfPaths)) {
      if (this.leases.has(elfPath)) continue;
      const acquiring = this.acquire(elfPath, [], true, hooks);
      this.leases.set(elfPath, acquiring);
      try {
        await acquiring;
      } catch (error) {
        this.leases.delete(elfPath);
        throw error;
      }
    }
  }

  async attach(targets: readonly TraceTarget[], sink: EventSink, startedAtNs: bigint): Promise<void> {
    this.sink = sink;
    this.startedAtNs = startedAtNs;
    for (const target of targets) await this.addTarget(target);
  }

  async addTarget(target: TraceTarget): Promise<void> {
    this.byPid.set(target.pid, target);
    this.flushPending(target.pid);
    const existing = this.leases.get(target.elfPath);
    if (existing) {
      (await existing).lease.addPid(target.pid);
      return;
    }
    const acquiring = this.acquire(target.elfPath, [target.pid], false);
    this.leases.set(target.elfPath, acquiring);
    try {
      await acquiring;
    } catch (error) {
      this.leases.delete(target.elfPath);
      throw error;
    }
  }

  private async acquire(elfPath: string, pids: readonly number[], allPids: boolean, hooks: PrepareHooks = {}): Promise<Attached> {
    const subscriber: PoolSubscriber = {
      record: (record) => this.onRecord(record),
      lost: (_count, total) => this.onLost(total - (this.lostBaseline.get(subscriber) ?? 0)),
      failed: (error) => this.sink?.fail(error),
    };
    const tracepoints = await this.tracepointsFor(elfPath);
    // The site check reads the binary while bpftrace starts; a damaged site still fails before any event is used.
    const [checked, leased] = await Promise.allSettled([
      this.refuseDamagedSites(elfPath, tracepoints),
      this.pool.acquire({ elfPath, tracepoints, payloadBytes: this.options.payloadBytes, pids, allPids }, subscriber, hooks),
    ]);
    if (checked.status === 'rejected') {
      if (leased.status === 'fulfilled') await leased.value.release();
      throw checked.reason;
    }
    if (leased.status === 'rejected') throw leased.reason;
    const lease = leased.value;
    // A kept-alive session may have lost records for an earlier test: count ours only.
    this.lostBaseline.set(subscriber, lease.stats().lostRecords);
    for (const u of lease.program.unavailable) this.notes.push(`${u.tracepoint} ${u.argument} not traced: ${u.reason}`);
    const attached = { lease, subscriber };
    this.attachedNow.push(attached);
    return attached;
  }

  /** A probe site that is not a NOP would never fire or not attach: say so instead of tracing half. */
  private async refuseDamagedSites(elfPath: string, tracepoints: readonly TracepointName[]): Promise<void> {
    const notes = (await this.pool.probeNotes(elfPath)).filter((n) => tracepoints.includes(`${n.provider}:${n.name}` as TracepointName));
    const damaged = await damagedProbeSites(elfPath, notes).catch(() => []);
    if (damaged.length === 0) return;
    throw new HarnessError('NO_PROBES', `${elfPath} was altered after it was built: ${damaged.map(describeDamagedSite).join('; ')}, so those probes cannot be traced`, {
      fix: 'use an unmodified copy of the binary (compare its sha256 with the build\'s); a probe site holding 0xcc is a breakpoint written into the file',
    });
  }

  private async tracepointsFor(elfPath: string): Promise<readonly TracepointName[]> {
    if (this.options.tracepoints) return this.options.tracepoints;
    const notes = await this.pool.probeNotes(elfPath);
    const wanted = [...new Set([...DEFAULT_USDT_TRACEPOINTS, ...(this.options.extraTracepoints ?? [])])];
    const present = wanted.filter((name) => {
      const { context, event } = tracepoint(name);
      return hasProbes(notes, context, [event]);
    });
    const missing = wanted.filter((n) => !present.includes(n));
    if (missing.length > 0) this.notes.push(`${elfPath} lacks ${missing.join(', ')}: not traced`);
    if (present.length === 0) {
      throw new HarnessError('NO_PROBES', `${elfPath} has no net tracepoints`, {
        fix: 'use a bitcoind built with USDT (-DWITH_USDT=ON, or --enable-usdt before v29), or the debug.log tracer',
      });
    }
    return present;
  }

  private onLost(total: number): void {
    this.lostTotal = Math.max(this.lostTotal, total);
    // One error at the first loss; detach reports any further loss with the final count.
    if (this.lostReported === 0) this.reportLoss();
  }

  private reportLoss(): void {
    this.lostReported = this.lostTotal;
    this.sink?.fail(
      new HarnessError('TRACE_EVENTS_LOST', `bpftrace lost ${this.lostTotal} trace records (its perf ring buffer overflowed); the trace is incomplete`, {
        fix: 'trace fewer tracepoints, capture less payload (payloadBytes), or give the pool a larger perfRingPages; allow loss explicitly if the test does not need every event',
        evidence: this.diagnostics(),
      }),
    );
  }

  /** Records of processes that are not (yet) targets, oldest first; see prepare(). */
  private pending: RawRecord[] = [];
  /** Per pid, records pushed out of the pending window: reported as loss if that pid becomes ours. */
  private readonly pendingDropped = new Map<number, number>();

  private flushPending(pid: number): void {
    const dropped = this.pendingDropped.get(pid) ?? 0;
    this.pendingDropped.delete(pid);
    if (dropped > 0) {
      this.sink?.fail(
        new HarnessError('TRACE_EVENTS_LOST', `${dropped} trace records of pid ${pid} were dropped while it was starting (the pending window holds ${MAX_PENDING_RECORDS})`, {
          fix: 'run fewer networks on this binary at once, or allow loss explicitly if the test does not need every event',
        }),
      );
    }
    if (this.pending.length === 0) return;
    const mine = this.pending.filter((r) => r.pid === pid);
    this.pending = this.pending.filter((r) => r.pid !== pid);
    for (const record of mine) this.onRecord(record);
  }

  private onRecord(record: RawRecord): void {
    const target = this.byPid.get(record.pid);
    if (!target || !this.sink) {
      // Not ours yet (a node that is starting) or another network's node: keep a bounded window.
      this.pending.push(record);
      if (this.pending.length > MAX_PENDING_RECORDS) {
        const dropped = this.pending.shift()!;
        this.pendingDropped.set(dropped.pid, (this.pendingDropped.get(dropped.pid) ?? 0) + 1);
      }
      return;
    }
    const sink = this.sink;
    let delivery = this.deliveries.get(target.index);
    if (!delivery) {
      delivery = new OrderedDelivery<TraceEvent>(
        (event) => sink.push(event),
        (error) =>
          sink.fail(new HarnessError('TRACER_FAILED', `could not turn a trace record into an event: ${String(error)}`, {
            fix: 'check that the node is still running (peer lookups use its RPC)',
            cause: error,
          })),
      );
      this.deliveries.set(target.index, delivery);
    }
    delivery.push(this.toEvent(target, record));
  }

  private async toEvent(target: TraceTarget, record: RawRecord): Promise<TraceEvent> {
    const args = record.args as unknown as Record<string, unknown>;
    const peerId = typeof args.peer_id === 'number' ? args.peer_id : undefined;
    const peer_node = peerId === undefined ? null : await this.peerNode(target, peerId, args);
    const t = Number(record.ns - this.startedAtNs) / 1000;
    return { t, node: target.index, peer_node, source: 'usdt', tracepoint: record.tracepoint, args: record.args } as TraceEvent;
  }

  private async peerNode(target: TraceTarget, peerId: number, args: Record<string, unknown>): Promise<number | null> {
    // A peer already gone (closed_connection) has no getpeerinfo entry: what the probe told us must do.
    const known: PeerInfo | undefined =
      typeof args.peer_addr === 'string'
        ? { id: peerId, addr: args.peer_addr, connection_type: String(args.peer_conn_type ?? ''), inbound: args.peer_conn_type === 'inbound' }
        : undefined;
    return (await target.resolvePeer(peerId, known))?.peerNode ?? null;
  }

  async detach(): Promise<void> {
    const attached = (await Promise.allSettled(this.leases.values())).flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    // Read what the probes wrote up to now, and the loss the kernel held back, before letting go.
    await Promise.allSettled(attached.map(({ lease }) => lease.sync()));
    await this.idle();
    this.lastStats = this.sessionDiagnostics(attached);
    this.leases.clear();
    this.attachedNow = [];
    // Every lease is released even if one fails: detach must always complete.
    await Promise.allSettled(attached.map(({ lease }) => lease.release()));
    await this.idle();
    if (this.lostTotal > this.lostReported) this.reportLoss();
    this.byPid.clear();
    this.pending = [];
    this.pendingDropped.clear();
    this.deliveries.clear(); // the next attach delivers to its own sink
    this.sink = undefined;
  }

  private async idle(): Promise<void> {
    await Promise.all([...this.deliveries.values()].map((d) => d.idle()));
  }

  diagnostics(): string {
    return [...this.notes, this.attachedNow.length > 0 ? this.sessionDiagnostics(this.attachedNow) : this.lastStats].filter(Boolean).join('\n');
  }

  /** Leases already acquired (diagnostics must not wait). */
  private attachedNow: Attached[] = [];

  private sessionDiagnostics(attached: readonly Attached[]): string {
    const parts: string[] = [];
    for (const { lease } of attached) {
      const s = lease.stats();
      parts.push(`bpftrace: ${s.completeHits} hits, ${s.receivedRecords} records received, ${s.lostRecords} lost, ${s.incompleteHits} incomplete`);
      if (lease.diagnostics().trim()) parts.push(lease.diagnostics().trim());
    }
    return parts.join('\n');
  }
}
