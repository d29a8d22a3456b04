/**
 * Test peers attached to a Network: `addPeer` dials a node (an inbound peer there),
 * `addListeningPeer` has a node dial a peer's listener (addnode … onetry for 'manual', regtest's
 * test-only addconnection for the automatic outbound types). Each peer gets a trace lane
 * (tracing/peer-lanes.ts) and its own traffic in the trace; the node's events about it map back to
 * that lane through `laneOf`. `dispose` closes every socket and listener.
 */
import { versionAtLeast } from '../common/version.js';
import { HarnessError } from '../common/errors.js';
import type { Timing } from '../common/timing.js';
import type { BitcoindBinary } from '../binary.js';
import type { BitcoinNode } from '../node.js';
import type { EventSink, PeerInfo } from '../../tracing/tracer.js';
import { laneName, peerLane } from '../../tracing/peer-lanes.js';
import { P2PListener } from './listener.js';
import { P2PPeer, type P2PPeerOptions } from './peer.js';
import { closedEvent, openedEvent, trafficEvent, type PeerLaneContext } from './peer-events.js';

/** The network as the peers need it. */
export interface PeerHost {
  readonly trace: EventSink;
  readonly startedAtNs: bigint;
  readonly binary: BitcoindBinary;
  node(index: number): BitcoinNode;
  /** The network's timing context: every wait of a peer inherits its budgets and abort signal. */
  readonly timing: Timing;
}

export type PeerVersionOptions = Omit<P2PPeerOptions, 'onTraffic' | 'onClose' | 'timing'>;

export interface AddPeerOptions extends PeerVersionOptions {
  /** The node the peer dials. */
  to: number;
  /** Resolve only once the handshake is complete (default true with handshake 'auto'). */
  waitForHandshake?: boolean;
}

/** How the node opens the connection: `manual` = addnode … onetry; the others = addconnection (regtest, test-only). */
export type ListeningConnType = 'manual' | 'outbound-full-relay' | 'block-relay-only' | 'feeler' | 'addr-fetch';

export interface AddListeningPeerOptions extends PeerVersionOptions {
  /** The node that dials the peer. */
  from: number;
  /** Default 'outbound-full-relay'. */
  connType?: ListeningConnType;
  waitForHandshake?: boolean;
}

/** A peer of a network: the P2PPeer plus its lane. */
export interface NetworkPeer {
  readonly peer: P2PPeer;
  /** Trace-node index of its lane (peer_node in the node's events). */
  readonly lane: number;
  /** `peer0`. */
  readonly name: string;
  /** The node it is connected to. */
  readonly node: number;
  readonly listener?: P2PListener;
}

export class TestPeers {
  private readonly peers: NetworkPeer[] = [];
  private readonly listeners: P2PListener[] = [];
  /** `${node}|${address as that node sees the peer}` → lane. */
  private readonly lanes = new Map<string, number>();
  /** `${node}|${peer id}` → what getpeerinfo said right after the handshake (the peer may be gone by the time a tracer asks). */
  private readonly known = new Map<string, PeerInfo>();
  private count = 0;

  constructor(private readonly host: PeerHost) {}

  get all(): readonly NetworkPeer[] {
    return this.peers;
  }

  /** Dials in flight: a node may report the connection before this side has registered it. */
  private readonly connecting = new Set<Promise<unknown>>();

  /**
   * The lane of the test peer a node lists as `peer`, or undefined when it is not one. A lookup
   * that races a dial in flight waits for it to register first.
   */
  async laneOf(node: number, peer: PeerInfo): Promise<number | undefined> {
    const key = `${node}|${peer.addr}`;
    if (!this.lanes.has(key) && this.connecting.size > 0) await Promise.allSettled([...this.connecting]);
    return this.lanes.get(key);
  }

  /** The node's getpeerinfo entry for a test peer, remembered after its handshake. */
  peerInfoOf(node: number, peerId: number): PeerInfo | undefined {
    return this.known.get(`${node}|${peerId}`);
  }

  /**
   * Remember the node's entry for the peer now, while it is connected: a node may drop it (eviction,
   * misbehaviour) before a tracer that reads debug.log late asks who peer N was.
   */
  private async remember(node: number, address: string): Promise<void> {
    const info = (await this.host.node(node).rpc.call('getpeerinfo')).find((p) => p.addr === address);
    if (info) this.known.set(`${node}|${info.id}`, info);
  }

  async addPeer(options: AddPeerOptions): Promise<NetworkPeer> {
    const { to, waitForHandshake, ...versionOptions } = options;
    const node = this.host.node(to);
    const lane = peerLane(this.count++);
    const timing = this.timing();
    const connecting = P2PPeer.connect(node.p2pAddress, {
      ...versionOptions,
      timing,
      // Before the peer's first byte can reach the node, so the tracer's lookups find its lane.
      ...this.laneHooks({ lane, node: to, connection: 0, startedAtNs: this.host.startedAtNs }, (p) => this.lanes.set(`${to}|${p.localAddress}`, lane)),
    });
    this.connecting.add(connecting);
    const peer = await connecting.finally(() => this.connecting.delete(connecting));
    const entry: NetworkPeer = { peer, lane, name: laneName(lane), node: to };
    this.peers.push(entry);
    if (waitForHandshake ?? (options.handshake ?? 'auto') === 'auto') {
      await peer.waitForHandshake({ timing });
      await this.remember(to, peer.localAddress);
    }
    return entry;
  }

  async addListeningPeer(options: AddListeningPeerOptions): Promise<NetworkPeer> {
    const { from, connType = 'outbound-full-relay', waitForHandshake, ...versionOptions } = options;
    const node = this.host.node(from);
    const lane = peerLane(this.count++);
    const timing = this.timing();
    let connection = 0;
    const listener = await P2PListener.open(() => ({
      ...versionOptions,
      timing,
      ...this.laneHooks({ lane, node: from, connection: connection++, startedAtNs: this.host.startedAtNs }),
    }));
    this.listeners.push(listener);
    this.lanes.set(`${from}|${listener.address}`, lane);
    const accepted = listener.accept(timing);
    await this.dial(node, listener.address, connType);
    const peer = await accepted;
    const entry: NetworkPeer = { peer, lane, name: laneName(lane), node: from, listener };
    this.peers.push(entry);
    if (waitForHandshake ?? (options.handshake ?? 'auto') === 'auto') {
      await peer.waitForHandshake({ timing });
      await this.remember(from, listener.address);
    }
    return entry;
  }

  /** The peer's own view into the trace: opened, every message, closed. */
  private laneHooks(ctx: PeerLaneContext, opened?: (peer: P2PPeer) => void): Pick<P2PPeerOptions, 'onOpen' | 'onTraffic' | 'onClose'> {
    const established = Math.floor(Date.now() / 1000);
    return {
      onOpen: (peer) => {
        opened?.(peer);
        this.host.trace.push(openedEvent(ctx, peer, process.hrtime.bigint()));
      },
      onTraffic: (traffic, peer) => this.host.trace.push(trafficEvent(ctx, peer, traffic)),
      onClose: (close, peer) => this.host.trace.push(closedEvent(ctx, peer, close, established)),
    };
  }

  /** Close every peer and listener (idempotent); the network calls this before stopping nodes. */
  async dispose(): Promise<void> {
    await Promise.allSettled([...this.peers.map((p) => p.peer.close()), ...this.listeners.map((l) => l.close())]);
  }

  private timing(): Timing {
    return this.host.timing;
  }

  /**
   * v1 only (BIP324 for the test peer is out of scope): since v26 both RPCs take a v2transport
   * argument (addconnection requires it), and with -v2transport on (default from v27) an addnode
   * without it would open a v2 handshake.
   */
  private async dial(node: BitcoinNode, address: string, connType: ListeningConnType): Promise<void> {
    const v2arg = versionAtLeast(this.host.binary, '26.0') ? [false] : [];
    try {
      if (connType === 'manual') await node.rpc.call('addnode', address, 'onetry', ...v2arg);
      else await node.rpc.call('addconnection', address, connType, ...v2arg);
    } catch (error) {
      throw new HarnessError('RPC_FAILED', `${node.name} could not dial the test peer at ${address} as ${connType}: ${(error as Error).message}`, {
        fix: connType === 'manual' ? 'check that the node is running' : 'addconnection needs -regtest and v22+; one connection type per free slot (see getpeerinfo)',
        cause: error,
      });
    }
  }
}
