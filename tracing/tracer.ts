import type { HarnessError } from '../harness/common/errors.js';
import type { TraceEvent, TraceSource } from './events.js';

/** What getpeerinfo tells about one peer; enough to fill events and resolve peer_node. */
export interface PeerInfo {
  id: number;
  addr: string;
  addrbind?: string;
  connection_type: string;
  inbound: boolean;
  transport_protocol_type?: string;
  /** getpeerinfo's network name (ipv4, onion, not_publicly_routable, …); fills closed-connection events. */
  network?: string;
  /** UNIX epoch seconds when the connection was established. */
  conntime?: number;
}

/** One node as a tracer sees it. Built by the network, handed to the tracer at attach. */
export interface TraceTarget {
  /** Harness index of the node. */
  index: number;
  /** PID of the bitcoind process itself (not a wrapper shell). */
  pid: number;
  /** The node's debug.log (the log tracer follows it from its first byte). */
  debugLogPath: string;
  /** The ELF file that carries the probes (bpftrace attaches by this path). */
  elfPath: string;
  /**
   * Who is on the other end of one of this process's peer ids: getpeerinfo's entry and the harness
   * node (by its listening port, or by the dialer's local port), or null for an outsider. Asked once
   * per (process, peer) and cached by the network's peer directory (harness/peer-directory.ts), so
   * tracers keep no cache of their own. `known` describes a peer already gone (from the probe's own
   * arguments); undefined when nothing is known.
   */
  resolvePeer(peerId: number, known?: PeerInfo): Promise<ResolvedPeer | undefined>;
}

export interface ResolvedPeer {
  info: PeerInfo;
  /** The harness node on the other end, or null. */
  peerNode: number | null;
}

/** Where tracers deliver: the trace store. */
export interface EventSink {
  push(event: TraceEvent): void;
  /** A trace error (lost events, tracer died): fails the test unless explicitly allowed. */
  fail(error: HarnessError): void;
}

export interface PrepareHooks {
  /** Called once the tracer's own process runs the rest of the attach, so the caller's thread may do blocking work (harness/spawn-barrier.ts). */
  spawned?: () => void;
  /** Stop waiting for the attach (Ctrl-C): prepare() rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * A P2P tracer. Lifecycle: `attach` (resolves once probes are live: the barrier),
 * nodes connect and act, `detach` stops delivering events for these targets.
 */
export interface Tracer {
  readonly source: TraceSource;
  /**
   * Optional: go live for these binaries before any node starts (bpftrace in path mode sees
   * processes that don't exist yet), so connections made at start-up are traced too.
   */
  prepare?(elfPaths: readonly string[], hooks?: PrepareHooks): Promise<void>;
  /** Start tracing these nodes into the sink; resolves when the tracer provably sees them. */
  attach(targets: readonly TraceTarget[], sink: EventSink, startedAtNs: bigint): Promise<void>;
  /** Register a node that (re)started after attach (restart gives a new pid). */
  addTarget(target: TraceTarget): Promise<void>;
  /** Stop tracing; flushes what is already read. */
  detach(): Promise<void>;
  /** The tracer's stderr (or notes), for failure bundles. */
  diagnostics(): string;
}
