/**
 * The debug.log tracer: the fallback when bpftrace can't run (no root, binary without probes,
 * any bitcoind). It follows each node's debug.log and turns its `sending`/`received:` lines
 * into net:outbound_message / net:inbound_message events, and its `Misbehaving:` / `Resetting socket`
 * lines into net:misbehaving_connection / net:closed_connection. Compared with USDT it has no payload
 * bytes and no opened-connection events, and its timestamps are bitcoind's wall clock.
 *
 * Time: debug.log stamps lines with the system clock (µs with -logtimemicros). At attach the
 * tracer pins that clock to process.hrtime (the clock of `startedAtNs`) once, by waiting for
 * Date.now() to tick over to the next millisecond: at that instant wall time is exactly
 * k ms, so the pair is accurate to ~0.1 ms (measured) instead of Date.now()'s 1 ms. Then
 * `t = lineWallUs - anchorWallUs + (anchorHrNs - startedAtNs) / 1000`. Using the line's own
 * stamp rather than the time we read it keeps read latency out of `t`; the cost is that a
 * wall-clock step (NTP) during a trace would shift later events.
 */
import { readFile } from 'node:fs/promises';
import { HarnessError } from '../harness/common/errors.js';
import type { TraceEvent } from './events.js';
import { LogFollower } from './log-follow.js';
import { isBlankLine, lastProcessStart, parseLogLine, PROCESS_START_BLANK_LINES, type LogEventRecord } from './log-parse.js';
import { OrderedDelivery } from './ordered-delivery.js';
import type { EventSink, ResolvedPeer, TraceTarget, Tracer } from './tracer.js';

/** Node arguments the log tracer needs: message lines, and µs timestamps on them. */
export const LOG_TRACER_NODE_ARGS = ['-debug=net', '-logtimemicros=1'] as const;

export interface LogTracerOptions {
  /** See DEFAULT_SAFETY_RECHECK_MS in log-follow.ts. */
  safetyRecheckMs?: number;
  /** How long attach waits for a debug.log to appear. */
  appearTimeoutMs?: number;
}

/** Wall clock and hrtime read at the same instant. */
interface ClockAnchor {
  wallUs: number;
  hrNs: bigint;
}

function anchorClocks(): ClockAnchor {
  const start = Date.now();
  let now = start;
  while (now === start) now = Date.now(); // ≤ 1 ms spin, once per attach
  return { wallUs: now * 1000, hrNs: process.hrtime.bigint() };
}

/**
 * One bitcoind process writing to the log. A restart appends a new process to the same file,
 * whose peer ids start again at 0: it gets its own target (the one passed to addTarget, whose
 * peer lookups are that process's), bound when both the process-start run and the addTarget call are seen.
 */
class Incarnation {
  /** Peer ids seen, for diagnostics (the lookups themselves are cached by the target). */
  readonly peersSeen = new Set<number>();
  readonly target: Promise<TraceTarget | null>;
  bind: (target: TraceTarget | null) => void = () => undefined;
  bound = false;

  constructor(target?: TraceTarget) {
    this.target = new Promise((resolve) => {
      this.bind = (t) => {
        this.bound = true;
        resolve(t);
      };
    });
    if (target) this.bind(target);
  }
}

interface PendingEvent {
  record: LogEventRecord;
  peer: ResolvedPeer | undefined;
  /** hrtime when read, for lines without a timestamp. */
  readAtNs: bigint;
}

const SAMPLE_LIMIT = 5;

/** getpeerinfo's network names in the order of Core's Network enum (the USDT peer_network value). */
const NETWORK_NAMES = ['not_publicly_routable', 'ipv4', 'ipv6', 'onion', 'i2p', 'cjdns', 'internal'];

/** Core's Network enum value for a getpeerinfo network name; -1 when the peer's details are unknown (gone before its first lookup). */
function networkCode(name: string | undefined): number {
  return name === undefined ? -1 : NETWORK_NAMES.indexOf(name);
}

/** One node's debug.log → its events, in log order. */
class NodeLogStream {
  private incarnation: Incarnation;
  private readonly unboundIncarnations: Incarnation[] = [];
  private readonly unclaimedTargets: TraceTarget[] = [];
  private blankRun = 0;
  private sawContent = false;
  private readonly delivery: OrderedDelivery<PendingEvent>;
  private follower: LogFollower | undefined;
  // Diagnostics.
  private parsed = 0;
  private untimed = 0;
  private restarts = 0;
  private lookups = 0;
  private readonly lookupFailures: string[] = [];
  private lookupFailureCount = 0;
  private unknownCount = 0;
  private readonly unknownSamples: string[] = [];

  constructor(
    readonly index: number,
    readonly path: string,
    target: TraceTarget,
    private readonly sink: EventSink,
    private readonly toT: (record: LogEventRecord, readAtNs: bigint) => number,
  ) {
    this.incarnation = new Incarnation(target);
    this.delivery = new OrderedDelivery<PendingEvent>(
      (pending) => this.sink.push(this.toEvent(pending)),
      (error) => this.sink.fail(new HarnessError('TRACER_FAILED', `could not turn a debug.log line into an event: ${String(error)}`, { fix: 'report this with the failure bundle', cause: error })),
    );
  }

  async open(from: number | 'end', options: LogTracerOptions): Promise<void> {
    this.follower = await LogFollower.open(this.path, {
      onLine: (line) => this.onLine(line),
      onError: (error) => this.sink.fail(error),
      from,
      ...(options.safetyRecheckMs === undefined ? {} : { safetyRecheckMs: options.safetyRecheckMs }),
      ...(options.appearTimeoutMs === undefined ? {} : { appearTimeoutMs: options.appearTimeoutMs }),
    });
  }

  /** A restarted process of this node: its target serves the next process-start run in the log. */
  addTarget(target: TraceTarget): void {
    const waiting = this.unboundIncarnations.shift();
    if (waiting) waiting.bind(target);
    else this.unclaimedTargets.push(target);
  }

  /** Read to EOF, release the file, then deliver everything still waiting on a peer lookup. */
  async close(): Promise<void> {
    await this.follower?.close();
    // A restart that never got its addTarget: deliver its events without peer details rather than hold them forever.
    for (const incarnation of this.unboundIncarnations.splice(0)) incarnation.bind(null);
    await this.delivery.idle();
  }

  private onLine(line: string): void {
    if (isBlankLine(line)) {
      this.blankRun++;
      if (this.blankRun === PROCESS_START_BLANK_LINES && this.sawContent) this.processStarted();
      return;
    }
    this.blankRun = 0;
    this.sawContent = true;
    const record = parseLogLine(line);
    if (record === null) return;
    if (record.kind === 'unknown-net') {
      this.unknownCount++;
      if (this.unknownSamples.length < SAMPLE_LIMIT) this.unknownSamples.push(line);
      return;
    }
    this.parsed++;
    if (record.wallTimeUs === null) this.untimed++;
    const readAtNs = process.hrtime.bigint();
    this.delivery.push(this.lookup(record.peerId).then((peer) => ({ record, peer, readAtNs })));
  }

  private processStarted(): void {
    this.restarts++;
    const incarnation = new Incarnation(this.unclaimedTargets.shift());
    if (!incarnation.bound) this.unboundIncarnations.push(incarnation);
    this.incarnation = incarnation;
  }

  /** The peer's lookup, started on its first message so a later disconnect can't lose its details. */
  private async lookup(peerId: number): Promise<ResolvedPeer | undefined> {
    const incarnation = this.incarnation;
    const target = await incarnation.target;
    if (target === null) return undefined;
    if (!incarnation.peersSeen.has(peerId)) {
      incarnation.peersSeen.add(peerId);
      this.lookups++;
    }
    try {
      return await target.resolvePeer(peerId);
    } catch (error) {
      this.lookupFailureCount++;
      if (this.lookupFailures.length < SAMPLE_LIMIT) this.lookupFailures.push(`peer=${peerId}: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    }
  }

  private toEvent({ record, peer, readAtNs }: PendingEvent): TraceEvent {
    const base = { t: this.toT(record, readAtNs), node: this.index, peer_node: peer?.peerNode ?? null, source: 'log' as const };
    const peerArgs = { peer_id: record.peerId, peer_addr: peer?.info.addr ?? '', peer_conn_type: peer?.info.connection_type ?? 'unknown' };
    switch (record.kind) {
      case 'message':
        return { ...base, tracepoint: record.tracepoint, args: { ...peerArgs, msg_type: record.msgType, msg_size: record.msgSize } };
      case 'misbehaving':
        return { ...base, tracepoint: record.tracepoint, args: { peer_id: record.peerId, message: record.message } };
      case 'closed':
        return {
          ...base,
          tracepoint: record.tracepoint,
          args: { ...peerArgs, peer_network: networkCode(peer?.info.network), time_established: peer?.info.conntime ?? 0 },
        };
    }
  }

  describe(): string {
    const stats = this.follower?.stats();
    const lines = [
      `node ${this.index} ${this.path}: ${stats?.lines ?? 0} lines read, ${this.parsed} message lines parsed, ` +
        `${this.unknownCount} net lines not understood, ${this.lookups} peer lookups (${this.lookupFailureCount} failed), ` +
        `${this.restarts} restarts seen` +
        (this.untimed ? `, ${this.untimed} lines without timestamp (timed on read)` : '') +
        (stats?.unterminatedBytes ? `, ${stats.unterminatedBytes} bytes of an unfinished last line` : ''),
    ];
    for (const sample of this.unknownSamples) lines.push(`  not understood: ${sample}`);
    for (const failure of this.lookupFailures) lines.push(`  peer lookup failed: ${failure}`);
    return lines.join('\n');
  }
}

export class LogTracer implements Tracer {
  readonly source = 'log' as const;
  private readonly streams = new Map<number, NodeLogStream>();
  private readonly closedStreams: NodeLogStream[] = [];
  private session: { sink: EventSink; startedAtNs: bigint; anchor: ClockAnchor } | undefined;

  constructor(private readonly options: LogTracerOptions = {}) {}

  /** Follow every target's debug.log from the start of its current process; resolves once all are open and reading. */
  async attach(targets: readonly TraceTarget[], sink: EventSink, startedAtNs: bigint): Promise<void> {
    if (this.session) {
      throw new HarnessError('TRACER_FAILED', 'the log tracer is already attached', { fix: 'detach it before attaching it again, or use one tracer per network' });
    }
    this.session = { sink, startedAtNs, anchor: anchorClocks() };
    const opened = await Promise.allSettled(targets.map((target) => this.openStream(target, 'process-start')));
    const failure = opened.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) {
      await this.detach();
      throw failure.reason;
    }
  }

  /**
   * A node that (re)started after attach. Same log as a followed node: the running follower
   * continues (nothing lost, nothing replayed) and the new process's peers are looked up through
   * this target. A log not followed yet is followed from its current end.
   */
  async addTarget(target: TraceTarget): Promise<void> {
    if (!this.session) {
      throw new HarnessError('TRACER_FAILED', `addTarget(node ${target.index}) on a log tracer that is not attached`, { fix: 'call attach before addTarget' });
    }
    const stream = this.streams.get(target.index);
    if (stream && stream.path === target.debugLogPath) {
      stream.addTarget(target);
      return;
    }
    if (stream) {
      this.streams.delete(target.index);
      await stream.close();
      this.closedStreams.push(stream);
    }
    await this.openStream(target, 'end');
  }

  /** Read every log to EOF, deliver what is still waiting on a peer lookup, then release all files. */
  async detach(): Promise<void> {
    const streams = [...this.streams.values()];
    this.streams.clear();
    await Promise.all(streams.map((stream) => stream.close()));
    this.closedStreams.push(...streams);
    this.session = undefined;
  }

  diagnostics(): string {
    const all = [...this.closedStreams, ...this.streams.values()];
    return [`log tracer: ${all.length} debug.log file(s) followed`, ...all.map((s) => s.describe())].join('\n');
  }

  private async openStream(target: TraceTarget, from: 'process-start' | 'end'): Promise<void> {
    const { sink, startedAtNs, anchor } = this.session!;
    const offsetNs = anchor.hrNs - startedAtNs;
    const toT = (record: LogEventRecord, readAtNs: bigint): number =>
      record.wallTimeUs === null
        ? Number((readAtNs - startedAtNs) / 1000n)
        : record.wallTimeUs - anchor.wallUs + Number(offsetNs / 1000n);
    const stream = new NodeLogStream(target.index, target.debugLogPath, target, sink, toT);
    await stream.open(from === 'end' ? 'end' : await currentProcessStart(target.debugLogPath), this.options);
    this.streams.set(target.index, stream);
  }
}

/**
 * Where the node's current process begins in its log: the whole file for a fresh datadir, the
 * last process's part for a reused one (earlier processes' peers are not this target's).
 */
async function currentProcessStart(path: string): Promise<number> {
  try {
    return lastProcessStart(await readFile(path));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0; // not written yet: start at its first byte
    throw error;
  }
}
