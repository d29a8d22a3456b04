import { join } from 'node:path';
import { Trace } from '../tracing/trace.js';
import type { Tracer } from '../tracing/tracer.js';
import { resolveBitcoind, type BitcoindBinary } from './binary.js';
import { ChainActions, WALLET } from './chain-actions.js';
import type { ExitInfo } from './common/child-process/index.js';
import { HarnessError } from './common/errors.js';
import { trackForSignals, untrackForSignals } from './common/signal-cleanup.js';
import { abortable, makeTiming, type Timing } from './common/timing.js';
import { disconnectEdge, waitForEdgeHandshake } from './handshake-wait.js';
import { makeNetworkDir, type NetworkDir } from './network-dir.js';
import type { ConnectMode, NetworkOptions } from './network-options.js';
import { BitcoinNode } from './node.js';
import { TestPeers, type AddListeningPeerOptions, type AddPeerOptions, type NetworkPeer } from './p2p/network-peers.js';
import { PeerDirectory } from './peer-directory.js';
import { SpawnBarrier } from './spawn-barrier.js';
import { dial, dialTargets, redirectDialersOfMovedNodes } from './topology-dial.js';
import { parseTopology, type Edge } from './topology.js';

export type { ConnectMode, NetworkOptions } from './network-options.js';

/**
 * N regtest nodes with a topology, an optional tracer attached before they connect, and helpers
 * to act on them. Flow: resolve binary → datadirs and ports → spawn (parallel; with `rpc` connect
 * mode the tracer attaches meanwhile, with `startup` it goes live first) → attach (barrier) →
 * connect → wait for handshakes. `dispose()` undoes all of it. Other jobs have their own modules:
 * handshake-wait.ts, topology-dial.ts, peer-directory.ts, chain-actions.ts, network-dir.ts,
 * failure-bundle.ts, p2p/network-peers.ts.
 */
export class Network {
  readonly nodes: BitcoinNode[];
  readonly edges: Edge[];
  readonly connectMode: ConnectMode;
  readonly trace: Trace;
  readonly tracer: Tracer | undefined;
  readonly binary: BitcoindBinary;
  /** The timing context every wait of this network inherits. */
  readonly timing: Timing;
  /** Chain, wallet and mempool actions (chain-actions.ts); the common ones are also methods below. */
  readonly chain: ChainActions;
  /** process.hrtime.bigint() when the network started: t = 0 of the trace. */
  readonly startedAtNs: bigint;
  private readonly options: NetworkOptions;
  private readonly directory: NetworkDir;
  private readonly peers: PeerDirectory;
  /** TypeScript test peers attached to the nodes (harness/p2p/network-peers.ts). */
  readonly testPeers: TestPeers;
  private disposed: Promise<void> | undefined;

  private constructor(options: NetworkOptions, timing: Timing, binary: BitcoindBinary, directory: NetworkDir, edges: Edge[]) {
    this.timing = timing;
    this.chain = new ChainActions({ node: (i) => this.node(i), runningNodes: () => this.nodes.filter((n) => n.running), timing });
    this.options = options;
    this.binary = binary;
    this.directory = directory;
    this.edges = edges;
    this.startedAtNs = process.hrtime.bigint();
    this.connectMode = options.connectMode ?? 'rpc';
    this.tracer = options.tracer;
    this.trace = new Trace({ allowLoss: options.allowTraceLoss ?? false, timing });
    if (options.onEvent) this.trace.subscribe(options.onEvent);
    this.nodes = Array.from({ length: options.nodes }, (_, index) => this.makeNode(index));
    this.testPeers = new TestPeers(this);
    this.peers = new PeerDirectory(() => this.nodes, this.testPeers);
  }

  private makeNode(index: number): BitcoinNode {
    const extra = this.options.extraArgs;
    const node = new BitcoinNode({
      index,
      binary: this.binary,
      datadir: join(this.directory.path, `node${index}`),
      fastRelay: this.options.fastRelay ?? true,
      ...(this.options.v2transport === undefined ? {} : { v2transport: this.options.v2transport }),
      extraArgs: typeof extra === 'function' ? extra(index) : (extra ?? []),
      timing: this.timing,
      // Separates a restarted node's connections from its earlier ones (peer ids start at 0 again).
      onSpawn: (spawned) => this.trace.markIncarnation(spawned.index, Number(process.hrtime.bigint() - this.startedAtNs) / 1000),
    });
    return node;
  }

  /** Start a network and wait until every edge's handshake is complete. */
  static async start(options: NetworkOptions): Promise<Network> {
    const edges = parseTopology(options.topology ?? 'line', options.nodes);
    const binary = typeof options.bitcoind === 'object' ? options.bitcoind : await resolveBitcoind(options.bitcoind === undefined ? {} : { bitcoind: options.bitcoind });
    const timing = makeTiming({ signal: options.signal, timeoutFactor: options.timeoutFactor }); // a bad factor fails before anything exists
    const network = new Network(options, timing, binary, await makeNetworkDir(options.rootDir, options.keep ?? false), edges);
    trackForSignals(network);
    try {
      await network.boot();
      return network;
    } catch (error) {
      await network.dispose();
      throw error;
    }
  }

  private async boot(): Promise<void> {
    const signal = this.timing.signal;
    await Promise.all(this.nodes.map((node) => node.reservePorts()));
    if (this.connectMode === 'startup') for (const node of this.nodes) node.setConnect(dialTargets(this, node.index));
    // A tracer that can see processes before they exist (bpftrace in path mode) goes live before
    // the first connection: with -connect= that is the spawn, so it goes live first; with addnode
    // it attaches while the nodes start (the barrier is before the dial, not before the spawn).
    const spawned = new SpawnBarrier<BitcoinNode | 'tracer'>([...this.nodes, ...(this.tracer?.prepare && this.connectMode === 'rpc' ? ['tracer' as const] : [])]);
    const prepare = async () => this.tracer?.prepare?.([this.binary.elfPath], { spawned: () => spawned.arrive('tracer'), ...abortable(this.timing) }).finally(() => spawned.arrive('tracer'));
    if (this.connectMode === 'startup') await prepare();
    signal?.throwIfAborted();
    this.options.log?.(`starting ${this.nodes.length} node(s): ${this.binary.versionLine}`);
    const planned = this.nodes.map((node) => node.p2pAddress);
    const start = (node: BitcoinNode) => node.start({ spawned: () => spawned.arrive(node), beforeFirstRpc: spawned.opened }).finally(() => spawned.arrive(node));
    // allSettled: a node (or the attach) that fails must not leave its siblings starting while we dispose. The attach, the longest wait, begins first.
    const started = await Promise.allSettled([...(this.connectMode === 'startup' ? [] : [prepare()]), ...this.nodes.map(start)]);
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    signal?.throwIfAborted();
    if (this.connectMode === 'startup') await redirectDialersOfMovedNodes(this, planned);
    if (this.tracer) await this.tracer.attach(this.nodes.map((n) => this.peers.target(n)), this.trace, this.startedAtNs);
    signal?.throwIfAborted();
    if (this.connectMode === 'rpc') await Promise.all(this.edges.map((edge) => dial(this, edge)));
    await this.waitForHandshakes();
  }

  node(index: number): BitcoinNode {
    const node = this.nodes[index];
    if (!node) {
      throw new HarnessError('BAD_OPTION', `there is no node ${index} in this network (nodes 0..${this.nodes.length - 1})`, { fix: 'use a node index below the node count' });
    }
    return node;
  }

  /** The network's directory (node datadirs are `node<i>` inside). */
  get dir(): string {
    return this.directory.path;
  }

  /** Whether the datadirs stay after dispose (the `keep` option, or keepDatadirs()). */
  get kept(): boolean {
    return this.directory.kept;
  }

  /** Keep the datadirs after all when disposing (e.g. a node crashed, for inspection); `dir` says where. */
  keepDatadirs = (): void => this.directory.keep();

  /** Aborted when the run is interrupted; every wait of the network already honours it. */
  get signal(): AbortSignal | undefined {
    return this.timing.signal;
  }

  /** `listener(node, exit)` when a node exits without being asked to (crash, kill -9). Returns the unsubscribe. */
  onUnexpectedExit(listener: (node: BitcoinNode, exit: ExitInfo) => void): () => void {
    const unsubscribe = this.nodes.map((node) => node.onUnexpectedExit((exit) => listener(node, exit)));
    return () => unsubscribe.forEach((off) => off());
  }

  private get handshakeScope() {
    return { node: (i: number) => this.node(i), trace: this.trace, traced: this.tracer !== undefined, timing: this.timing };
  }

  /** Resolves when every edge's handshake is complete on both sides. */
  async waitForHandshakes(edges: readonly Edge[] = this.edges): Promise<void> {
    await Promise.all(edges.map((edge) => this.waitForHandshake(edge)));
  }

  /** One edge's handshake, complete on both sides (see handshake-wait.ts). */
  async waitForHandshake(edge: Edge, occurrence: number | 'last' = 'last'): Promise<void> {
    await waitForEdgeHandshake(this.handshakeScope, edge, occurrence);
  }

  /** Drop the connection of one edge (the dialer disconnects) and wait until the dialer no longer lists it. */
  disconnect = (edge: Edge) => disconnectEdge(this.handshakeScope, edge);

  /** Dial one edge again (`addnode … onetry`) and wait for the new connection's handshake. */
  async reconnect(edge: Edge): Promise<void> {
    const before = this.connectionCount(edge);
    await dial(this, edge);
    await this.waitForHandshake(edge, this.tracer ? before + 1 : 'last');
  }

  /** Stop one node (RPC stop → SIGTERM → SIGKILL); its datadir and ports stay. Chain actions below: chain-actions.ts. */
  stopNode = (index: number): Promise<void> => this.node(index).stop();

  /** Start a stopped node again and restore its edges (rpc mode dials again; startup mode's -connect does it itself). */
  async startNode(index: number): Promise<void> {
    if (this.disposed) throw new HarnessError('BAD_OPTION', `startNode(${index}) on a network that was disposed`, { fix: 'start nodes only while the network is alive (before dispose / the end of `await using`)' });
    const node = this.node(index);
    const edges = this.edges.filter((e) => (e.from === index || e.to === index) && this.node(e.from === index ? e.to : e.from).running);
    // Count before starting: with -connect the new handshake can be traced before start() returns.
    const before = new Map(edges.map((edge) => [edge, this.connectionCount(edge)]));
    await node.start();
    if (this.tracer) await this.tracer.addTarget(this.peers.target(node));
    if (this.connectMode === 'rpc') await Promise.all(edges.map((edge) => dial(this, edge)));
    await Promise.all(edges.map((edge) => this.waitForHandshake(edge, this.tracer ? before.get(edge)! + 1 : 'last')));
  }

  /** Restart one node keeping its datadir (and chain); its edges come back. */
  async restartNode(index: number): Promise<void> {
    await this.stopNode(index);
    await this.startNode(index);
  }

  /** A TypeScript peer dials node `to` (an inbound peer there); resolves after the handshake by default. */
  addPeer(options: AddPeerOptions): Promise<NetworkPeer> {
    return this.testPeers.addPeer(options);
  }

  /** Node `from` dials a TypeScript peer's listener (`connType`: manual = addnode onetry, else addconnection). */
  addListeningPeer(options: AddListeningPeerOptions): Promise<NetworkPeer> {
    return this.testPeers.addListeningPeer(options);
  }

  ensureWallet = (index: number) => this.chain.ensureWallet(index);
  newAddress = (index: number) => this.chain.newAddress(index);
  mine = (index: number, blocks?: number, options?: { sync?: boolean }) => this.chain.mine(index, blocks, options);
  syncBlocks = (options?: { reference?: number }) => this.chain.syncBlocks(options);
  sendTransaction = (from: number, to: number, amountBtc?: number) => this.chain.sendTransaction(from, to, amountBtc);
  fund = (index: number, btc: number) => this.chain.fund(index, btc);
  waitForMempool = (txid: string, nodes?: readonly number[], timeoutMs?: number) => this.chain.waitForMempool(txid, nodes, timeoutMs);
  syncMempools = () => this.chain.syncMempools();

  private connectionCount(edge: Edge): number {
    return this.trace.connections().filter((c) => c.from === edge.from && c.to === edge.to).length;
  }

  async dispose(): Promise<void> {
    this.disposed ??= this.teardown();
    return this.disposed;
  }

  private async teardown(): Promise<void> {
    untrackForSignals(this);
    // Interrupted and throwaway: nothing of the nodes' state is wanted, so no graceful shutdown.
    const kill = (this.timing.signal?.aborted ?? false) && !this.kept;
    await this.testPeers.dispose(); // sockets and listeners first: nothing of ours outlives the network
    // At the same time: the tracer's detach (a sync, then bpftrace SIGKILLed without waiting for
    // the kernel's uprobe detach) and the nodes' stop.
    await Promise.allSettled([this.tracer?.detach(), ...this.nodes.map((node) => node.dispose({ kill }))]);
    await this.directory.remove();
    if (this.kept) this.options.log?.(`kept datadirs in ${this.dir}`);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}

export { WALLET };
