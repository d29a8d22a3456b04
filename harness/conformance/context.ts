/**
 * What every tracepoint group of the suite shares on one binary: the network, its trace, the
 * timing context, which tracepoints the binary carries, and one check per tracepoint.
 */
import type { Network } from '../network.js';
import type { Rpc } from '../rpc.js';
import type { Timing } from '../common/timing.js';
import { budget, abortable } from '../common/timing.js';
import type { TraceEvent, TracepointName } from '../../tracing/events.js';
import type { TracepointCheck } from './check.js';
import { call, type PeerInfo } from './core-rpc.js';

/** A peer as getpeerinfo showed it, plus the same-direction connection count when it was new. */
export interface BookedPeer {
  node: number;
  info: PeerInfo;
  /** Inbound (or outbound) connections of that node right after this one was added, when known. */
  existing?: number;
}

/** Every getpeerinfo entry the suite saw, keyed by node, peer id and address (ids restart with a node). */
export class PeerBook {
  private readonly peers = new Map<string, BookedPeer>();

  private static key(node: number, id: number, addr: string): string {
    return `${node}:${id}:${addr}`;
  }

  find(node: number, id: number, addr: string): BookedPeer | undefined {
    return this.peers.get(PeerBook.key(node, id, addr));
  }

  /** The node's peers with this address (the id is what the tracepoint is checked on). */
  byAddress(node: number, addr: string): BookedPeer[] {
    return [...this.peers.values()].filter((p) => p.node === node && p.info.addr === addr);
  }

  /**
   * getpeerinfo of one node now. Peers seen for the first time get `existing` = that node's count
   * of connections in their direction: exact when the caller added one connection since the last look.
   */
  async snapshot(rpc: Rpc, node: number): Promise<PeerInfo[]> {
    const list = await call<PeerInfo[]>(rpc, 'getpeerinfo');
    const inbound = list.filter((p) => p.inbound).length;
    const outbound = list.length - inbound;
    for (const info of list) {
      const key = PeerBook.key(node, info.id, info.addr);
      const known = this.peers.get(key);
      this.peers.set(key, { node, info, existing: known ? known.existing : info.inbound ? inbound : outbound });
    }
    return list;
  }
}

export class ConformanceContext {
  readonly book = new PeerBook();

  constructor(
    readonly network: Network,
    readonly version: string,
    readonly timing: Timing,
    /** Tracepoints the binary carries and the catalog expects: the ones traced and checked. */
    readonly checks: ReadonlyMap<TracepointName, TracepointCheck>,
  ) {}

  rpc(node: number): Rpc {
    return this.network.node(node).rpc;
  }

  has(name: TracepointName): boolean {
    return this.checks.has(name);
  }

  check(name: TracepointName): TracepointCheck | undefined {
    return this.checks.get(name);
  }

  events<N extends TracepointName>(name: N, node?: number): TraceEvent<N>[] {
    return this.network.trace.events.filter((e): e is TraceEvent<N> => e.tracepoint === name && (node === undefined || e.node === node));
  }

  /** Wait for a traced event the action must cause (sequencing only: checks run after detach). */
  async waitFor<N extends TracepointName>(name: N, predicate: (event: TraceEvent<N>) => boolean, description: string): Promise<TraceEvent<N>> {
    const event = await this.network.trace.waitFor((e) => e.tracepoint === name && predicate(e as TraceEvent<N>), {
      timeoutMs: budget(this.timing, 'event'),
      description,
      ...abortable(this.timing),
    });
    return event as TraceEvent<N>;
  }
}
