import type { PeerInfo, ResolvedPeer, TraceTarget } from '../tracing/tracer.js';
import type { BitcoinNode } from './node.js';

/** TypeScript test peers (harness/p2p/network-peers.ts): their lanes, and their entries remembered while connected. */
export interface TestPeerLookup {
  laneOf(node: number, peer: PeerInfo): Promise<number | undefined>;
  peerInfoOf(node: number, peerId: number): PeerInfo | undefined;
}

/**
 * Who is on the other end of a node's peer id, for both tracers (tracing/tracer.ts TraceTarget):
 * the one cache of getpeerinfo answers in the harness. Keys are (process id, peer id): a restarted
 * bitcoind numbers its peers from 0 again. A lookup starts on a peer's first traced event, so a
 * later disconnect cannot lose its details; concurrent lookups on one node share one RPC.
 *
 * Which harness node: an outbound peer's address is a harness node's listening address; an inbound
 * peer's address is the dialer's ephemeral port, which the dialer reports as `addrbind` of its
 * outbound peer.
 */
export class PeerDirectory {
  private readonly resolved = new Map<string, Promise<ResolvedPeer | undefined>>();
  /** Per pid, the getpeerinfo call in flight (or the last answer), shared by concurrent lookups. */
  private readonly listings = new Map<number, Promise<readonly PeerInfo[]>>();
  private readonly inFlight = new Map<number, Promise<readonly PeerInfo[]>>();

  constructor(
    private readonly nodes: () => readonly BitcoinNode[],
    private readonly testPeers?: TestPeerLookup,
  ) {}

  /** The view a tracer needs of one running node. */
  target(node: BitcoinNode): TraceTarget {
    const pid = node.pid;
    if (pid === undefined) throw new Error(`${node.name} is not running`);
    return {
      index: node.index,
      pid,
      debugLogPath: node.debugLogPath,
      elfPath: node.binary.elfPath,
      resolvePeer: (peerId, known) => this.resolve(node, pid, peerId, known),
    };
  }

  resolve(node: BitcoinNode, pid: number, peerId: number, known?: PeerInfo): Promise<ResolvedPeer | undefined> {
    const key = `${pid}:${peerId}`;
    let found = this.resolved.get(key);
    if (!found) {
      found = (async () => {
        const info = (await this.findPeer(node, pid, (p) => p.id === peerId)) ?? this.testPeers?.peerInfoOf(node.index, peerId) ?? known;
        return info ? { info, peerNode: await this.peerNodeOf(node, info) } : undefined;
      })();
      this.resolved.set(key, found);
    }
    return found;
  }

  /**
   * The node's peer matching `match`: from the last listing, else from a fresh one (a newer peer).
   * A fresh listing asked for while another is in flight is that one.
   */
  private async findPeer(node: BitcoinNode, pid: number, match: (peer: PeerInfo) => boolean): Promise<PeerInfo | undefined> {
    const cached = this.listings.get(pid);
    const hit = cached && (await cached).find(match);
    if (hit) return hit;
    let fresh = this.inFlight.get(pid);
    if (!fresh || fresh === cached) {
      fresh = node.running && node.pid === pid ? node.rpc.call('getpeerinfo').then((l) => l as PeerInfo[], () => [] as PeerInfo[]) : Promise.resolve([] as PeerInfo[]);
      const asked = fresh;
      this.inFlight.set(pid, asked);
      void asked.then(() => {
        if (this.inFlight.get(pid) === asked) this.inFlight.delete(pid);
      });
      this.listings.set(pid, asked);
    }
    return (await fresh).find(match);
  }

  private async peerNodeOf(node: BitcoinNode, peer: PeerInfo): Promise<number | null> {
    const lane = await this.testPeers?.laneOf(node.index, peer);
    if (lane !== undefined) return lane;
    const nodes = this.nodes();
    if (!peer.inbound) return nodes.find((n) => n.p2pAddress === peer.addr)?.index ?? null;
    for (const candidate of nodes) {
      if (candidate === node || !candidate.running || candidate.pid === undefined) continue;
      const dialer = await this.findPeer(candidate, candidate.pid, (p) => !p.inbound && p.addr === node.p2pAddress && p.addrbind === peer.addr);
      if (dialer) return candidate.index;
    }
    return null;
  }
}
