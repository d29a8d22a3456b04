import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { dir as makeTempDir } from 'tmp-promise';
import { Trace } from '../tracing/trace.js';
import { waitForHandshake } from '../tracing/connections.js';
import type { TraceEvent } from '../tracing/events.js';
import type { PeerInfo, TraceTarget, Tracer } from '../tracing/tracer.js';
import { resolveBitcoind, type BitcoindBinary } from './binary.js';
import { trackForSignals, untrackForSignals } from './common/signal-cleanup.js';
import { HarnessError } from './common/errors.js';
import { BitcoinNode } from './node.js';
import { guardPath, releasePath } from './common/reaper.js';
import { formatEdge, parseTopology, type Edge } from './topology.js';
import { waitUntil } from './common/wait.js';
import { TestPeers, type AddListeningPeerOptions, type AddPeerOptions, type NetworkPeer } from './p2p/network-peers.js';

export type ConnectMode = 'startup' | 'rpc';

export interface NetworkOptions {
  /** Number of nodes (≥ 1). */
  nodes: number;
  /** Edge list "1>0,2>1" (node 1 dials node 0), a shape (line, star, ring, mesh, none), or edges. Default: line. */
  topology?: string | readonly Edge[];
  /** `startup`: -connect= arguments at start; `rpc`: `addnode … onetry` once every node is up. Default rpc. */
  connectMode?: ConnectMode;
  /** A bitcoind path or an identified binary; default: the usual resolution (see resolveBitcoind). */
  bitcoind?: string | BitcoindBinary;
  /** A tracer attached before any node connects; events land in `network.trace`. */
  tracer?: Tracer;
  /** Trace loss (bpftrace "Lost N events") only warns instead of failing. */
  allowTraceLoss?: boolean;
  /** Whitelist loopback peers (noban, both directions): relay without the Poisson trickle delay (default true). */
  fastRelay?: boolean;
  /** BIP324 v2 transport on/off; default: the binary's default. */
  v2transport?: boolean;
  /** Extra bitcoind arguments for every node, or per node. */
  extraArgs?: readonly string[] | ((index: number) => readonly string[]);
  /** Where the network's temp directory goes (default: the system temp dir). */
  rootDir?: string;
  /** Keep the datadirs after dispose (their path is in `network.dir`). */
  keep?: boolean;
  readyTimeoutMs?: number;
  handshakeTimeoutMs?: number;
  /** Aborting stops the start-up between phases (and pending waits); the network is then disposed. */
  signal?: AbortSignal;
  /** Every traced event as it arrives (e.g. a live timeline). */
  onEvent?: (event: TraceEvent) => void;
  /** Progress lines (e.g. console.error); silent by default. */
  log?: (line: string) => void;
}

const WALLET = 'harness';

/**
 * N regtest nodes with a topology, an optional tracer attached before they connect, and
 * helpers to act on them. Flow: resolve binary → datadirs and ports → spawn (parallel) →
 * attach tracer (barrier) → connect → wait for handshakes. `dispose()` undoes all of it.
 */
export class Network {
  readonly nodes: BitcoinNode[];
  readonly edges: Edge[];
  readonly connectMode: ConnectMode;
  readonly trace: Trace;
  readonly tracer: Tracer | undefined;
  readonly binary: BitcoindBinary;
  /** The network's temp directory (node datadirs are `node<i>` inside). */
  readonly dir: string;
  /** process.hrtime.bigint() when the network started: t = 0 of the trace. */
  readonly startedAtNs: bigint;
  /** TypeScript test peers attached to the nodes (harness/p2p/network-peers.ts). */
  readonly peers: TestPeers;
  private readonly options: NetworkOptions;
  private readonly removeDir: () => Promise<void>;
  private disposed: Promise<void> | undefined;

  private constructor(init: {
    options: NetworkOptions;
    binary: BitcoindBinary;
    dir: string;
    removeDir: () => Promise<void>;
    edges: Edge[];
    startedAtNs: bigint;
  }) {
    this.options = init.options;
    this.binary = init.binary;
    this.dir = init.dir;
    this.removeDir = init.removeDir;
    this.edges = init.edges;
    this.startedAtNs = init.startedAtNs;
    this.connectMode = init.options.connectMode ?? 'rpc';
    this.tracer = init.options.tracer;
    this.trace = new Trace({ allowLoss: init.options.allowTraceLoss ?? false });
    this.peers = new TestPeers(this);
    if (init.options.onEvent) this.trace.subscribe(init.options.onEvent);
    const extra = init.options.extraArgs;
    this.nodes = Array.from({ length: init.options.nodes }, (_, index) =>
      new BitcoinNode({
        index,
        binary: init.binary,
        datadir: join(init.dir, `node${index}`),
        fastRelay: init.options.fastRelay ?? true,
        ...(init.options.v2transport === undefined ? {} : { v2transport: init.options.v2transport }),
        extraArgs: typeof extra === 'function' ? extra(index) : (extra ?? []),
        ...(init.options.readyTimeoutMs === undefined ? {} : { readyTimeoutMs: init.options.readyTimeoutMs }),
        // Separates a restarted node's connections from its earlier ones (peer ids start at 0 again).
        onSpawn: (node) => this.trace.markIncarnation(node.index, Number(process.hrtime.bigint() - this.startedAtNs) / 1000),
      }),
    );
  }

  /** Start a network and wait until every edge's handshake is complete. */
  static async start(options: NetworkOptions): Promise<Network> {
    const edges = parseTopology(options.topology ?? 'line', options.nodes);
    const binary = typeof options.bitcoind === 'object' ? options.bitcoind : await resolveBitcoind(options.bitcoind === undefined ? {} : { bitcoind: options.bitcoind });
    const { dir, removeDir } = await makeNetworkDir(options.rootDir, options.keep ?? false);
    const network = new Network({ options, binary, dir, removeDir, edges, startedAtNs: process.hrtime.bigint() });
    trackForSignals(network);
    try {
      await network.boot();
      return network;
    } catch (error) {
      await network.dispose();
      throw error;
    }
  }

  private log(line: string): void {
    this.options.log?.(line);
  }

  private async boot(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.reservePorts()));
    if (this.connectMode === 'startup') {
      for (const node of this.nodes) node.setConnect(this.edges.filter((e) => e.from === node.index).map((e) => this.node(e.to).p2pAddress));
    }
    // A tracer that can see processes before they exist (bpftrace in path mode) goes live first,
    // so startup connections are traced from their first message.
    const signal = this.options.signal;
    await this.tracer?.prepare?.([this.binary.elfPath]);
    signal?.throwIfAborted();
    this.log(`starting ${this.nodes.length} node(s): ${this.binary.versionLine}`);
    const planned = this.nodes.map((node) => node.p2pAddress);
    // allSettled: a node that fails must not leave its siblings starting while we dispose.
    const started = await Promise.allSettled(this.nodes.map((node) => node.start()));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    signal?.throwIfAborted();
    if (this.connectMode === 'startup') await this.redirectDialersOfMovedNodes(planned);
    if (this.tracer) await this.tracer.attach(this.nodes.map((n) => this.traceTarget(n)), this.trace, this.startedAtNs);
    signal?.throwIfAborted();
    if (this.connectMode === 'rpc') await Promise.all(this.edges.map((edge) => this.dial(edge)));
    await this.waitForHandshakes();
  }

  /** A node that had to move to fresh ports during start-up (port taken): its dialers restart with the new address. */
  private async redirectDialersOfMovedNodes(planned: readonly string[]): Promise<void> {
    const moved = this.nodes.filter((node) => node.p2pAddress !== planned[node.index]).map((node) => node.index);
    const dialers = new Set(this.edges.filter((e) => moved.includes(e.to)).map((e) => e.from));
    for (const index of dialers) {
      const node = this.node(index);
      node.setConnect(this.edges.filter((e) => e.from === index).map((e) => this.node(e.to).p2pAddress));
      await node.restart();
    }
  }

  node(index: number): BitcoinNode {
    const node = this.nodes[index];
    if (!node) {
      throw new HarnessError('BAD_OPTION', `there is no node ${index} in this network (nodes 0..${this.nodes.length - 1})`, {
        fix: 'use a node index below the node count',
      });
    }
    return node;
  }

  private async dial(edge: Edge): Promise<void> {
    await this.node(edge.from).rpc.call('addnode', this.node(edge.to).p2pAddress, 'onetry');
  }

  /** Resolves when every edge's handshake is complete on both sides. */
  async waitForHandshakes(edges: readonly Edge[] = this.edges): Promise<void> {
    await Promise.all(edges.map((edge) => this.waitForHandshake(edge)));
  }

  /**
   * One edge's handshake, complete on both sides. With a tracer: the traced `verack` on each side
   * (no polling). Without: getpeerinfo until each side has received a `pong`, which can only follow
   * a completed handshake (as Core's functional framework does).
   */
  async waitForHandshake(edge: Edge, occurrence: number | 'last' = 'last'): Promise<void> {
    const timeoutMs = this.options.handshakeTimeoutMs ?? 30_000;
    if (this.tracer) {
      await waitForHandshake(this.trace, edge.from, edge.to, { timeoutMs, occurrence, ...this.abortable() });
      return;
    }
    await waitUntil(() => this.pongSeenBothWays(edge), { timeoutMs, description: `handshake ${formatEdge(edge)}`, ...this.abortable() });
  }

  private async pongSeenBothWays(edge: Edge): Promise<boolean> {
    const dialer = this.node(edge.from);
    const listener = this.node(edge.to);
    const outbound = (await dialer.rpc.call('getpeerinfo')).find((p) => !p.inbound && p.addr === listener.p2pAddress);
    if (!outbound?.bytesrecv_per_msg.pong || !outbound.addrbind) return false;
    const inbound = (await listener.rpc.call('getpeerinfo')).find((p) => p.inbound && p.addr === outbound.addrbind);
    return Boolean(inbound?.bytesrecv_per_msg.pong);
  }

  /** The view a tracer needs of one node (pid, log, peer lookups). */
  private traceTarget(node: BitcoinNode): TraceTarget {
    if (node.pid === undefined) throw new Error(`${node.name} is not running`);
    const peers = new Map<number, Promise<PeerInfo | undefined>>();
    return {
      index: node.index,
      pid: node.pid,
      debugLogPath: node.debugLogPath,
      elfPath: node.binary.elfPath,
      peerInfo: (peerId) => {
        let found = peers.get(peerId);
        if (!found) {
          found = node.rpc.call('getpeerinfo').then(
            (list) => list.find((p) => p.id === peerId) ?? this.peers.peerInfoOf(node.index, peerId),
            () => this.peers.peerInfoOf(node.index, peerId),
          );
          peers.set(peerId, found);
        }
        return found;
      },
      peerNode: (peer) => this.peerNodeOf(node, peer),
    };
  }

  /**
   * Which harness node is on the other end. Outbound: the address is a harness node's listening
   * port. Inbound: the address is the dialer's ephemeral port, which the dialer reports as
   * `addrbind` of its outbound peer; asked once per inbound peer.
   */
  private async peerNodeOf(node: BitcoinNode, peer: PeerInfo): Promise<number | null> {
    const testPeer = await this.peers.laneOf(node.index, peer);
    if (testPeer !== undefined) return testPeer;
    if (!peer.inbound) return this.nodes.find((n) => n.p2pAddress === peer.addr)?.index ?? null;
    for (const candidate of this.nodes) {
      if (candidate === node || !candidate.running) continue;
      const peers = await candidate.rpc.call('getpeerinfo').catch(() => []);
      if (peers.some((p) => !p.inbound && p.addr === node.p2pAddress && p.addrbind === peer.addr)) return candidate.index;
    }
    return null;
  }

  // ── Test peers (harness/p2p) ───────────────────────────────────────────────

  /** A TypeScript peer dials node `to` (an inbound peer there); resolves after the handshake by default. */
  addPeer(options: AddPeerOptions): Promise<NetworkPeer> {
    return this.peers.addPeer(options);
  }

  /** Node `from` dials a TypeScript peer's listener (`connType`: manual = addnode onetry, else addconnection). */
  addListeningPeer(options: AddListeningPeerOptions): Promise<NetworkPeer> {
    return this.peers.addListeningPeer(options);
  }

  // ── Actions ────────────────────────────────────────────────────────────────

  /** Load or create the harness wallet on a node (wallets are not auto-loaded after a restart). */
  async ensureWallet(index: number): Promise<void> {
    const node = this.node(index);
    const loaded = await node.rpc.call('listwallets');
    if (loaded.includes(WALLET)) return;
    try {
      await node.rpc.call('loadwallet', WALLET);
    } catch {
      await node.rpc.call('createwallet', WALLET);
    }
  }

  /** A fresh address of the node's wallet. */
  async newAddress(index: number): Promise<string> {
    await this.ensureWallet(index);
    return this.node(index).rpc.wallet(WALLET, 'getnewaddress');
  }

  /** Mine `blocks` on one node to its wallet; by default wait until every running node has the new tip. */
  async mine(index: number, blocks = 1, options: { sync?: boolean } = {}): Promise<string[]> {
    const address = await this.newAddress(index);
    const hashes = await this.node(index).rpc.call('generatetoaddress', blocks, address);
    if (options.sync ?? true) await this.syncBlocks({ reference: index });
    return hashes;
  }

  /** Wait until every running node has the same tip as `reference` (default node 0); blocks on `waitforblock`, no polling. */
  async syncBlocks(options: { reference?: number; timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const tip = await this.node(options.reference ?? 0).rpc.call('getbestblockhash');
    await Promise.all(
      this.runningNodes().map(async (node) => {
        const reached = await node.rpc.call('waitforblock', tip, timeoutMs);
        if (reached.hash !== tip) {
          throw new HarnessError('TIMEOUT', `${node.name} did not reach block ${tip} within ${timeoutMs} ms (at ${reached.hash}, height ${reached.height})`, {
            fix: 'check that the node is connected (topology) and read its debug.log tail',
          });
        }
      }),
    );
  }

  /** Send `amountBtc` from one node's wallet to a fresh address of another's; funds the sender first if needed. Returns the txid. */
  async sendTransaction(from: number, to: number, amountBtc = 1): Promise<string> {
    await this.fund(from, amountBtc + 0.01);
    const address = await this.newAddress(to);
    return this.node(from).rpc.wallet(WALLET, 'sendtoaddress', address, amountBtc);
  }

  /** Make sure a node's wallet can spend `btc`: mine to it and mature the coinbase (101 blocks) if not. */
  async fund(index: number, btc: number): Promise<void> {
    await this.ensureWallet(index);
    if ((await this.node(index).rpc.wallet(WALLET, 'getbalance')) >= btc) return;
    await this.mine(index, 101);
  }

  /** Wait until `txid` is in the mempool of the given nodes (default: all running). */
  async waitForMempool(txid: string, nodes: readonly number[] = this.runningNodes().map((n) => n.index), timeoutMs = 30_000): Promise<void> {
    await Promise.all(
      nodes.map((index) =>
        waitUntil(async () => (await this.node(index).rpc.call('getrawmempool')).includes(txid), {
          timeoutMs,
          description: `tx ${txid} in node${index}'s mempool`,
          ...this.abortable(),
        }),
      ),
    );
  }

  /** Wait until every running node's mempool holds the same transactions. */
  async syncMempools(timeoutMs = 30_000): Promise<void> {
    await waitUntil(
      async () => {
        const pools = await Promise.all(this.runningNodes().map(async (n) => (await n.rpc.call('getrawmempool')).sort().join(',')));
        return pools.every((pool) => pool === pools[0]);
      },
      { timeoutMs, description: 'all mempools to match', ...this.abortable() },
    );
  }

  /** Drop the connection of one edge (the dialer disconnects) and wait until neither side lists the other. */
  async disconnect(edge: Edge): Promise<void> {
    const dialer = this.node(edge.from);
    const listener = this.node(edge.to);
    await dialer.rpc.call('disconnectnode', listener.p2pAddress);
    await waitUntil(async () => !(await dialer.rpc.call('getpeerinfo')).some((p) => !p.inbound && p.addr === listener.p2pAddress), {
      timeoutMs: 30_000,
      description: `node${edge.from} to drop node${edge.to}`,
      ...this.abortable(),
    });
  }

  /** Dial one edge again (`addnode … onetry`) and wait for the new connection's handshake. */
  async reconnect(edge: Edge): Promise<void> {
    const before = this.connectionCount(edge);
    await this.dial(edge);
    await this.waitForHandshake(edge, this.tracer ? before + 1 : 'last');
  }

  /** Stop one node (RPC stop → SIGTERM → SIGKILL); its datadir and ports stay for a later start. */
  async stopNode(index: number): Promise<void> {
    await this.node(index).stop();
  }

  /** Start a stopped node again and restore its edges (rpc mode dials again; startup mode's -connect does it itself). */
  async startNode(index: number): Promise<void> {
    const node = this.node(index);
    const edges = this.edges.filter((e) => (e.from === index || e.to === index) && this.node(e.from === index ? e.to : e.from).running);
    // Count before starting: with -connect the new handshake can be traced before start() returns.
    const before = new Map(edges.map((edge) => [edge, this.connectionCount(edge)]));
    await node.start();
    if (this.tracer) await this.tracer.addTarget(this.traceTarget(node));
    if (this.connectMode === 'rpc') await Promise.all(edges.map((edge) => this.dial(edge)));
    await Promise.all(edges.map((edge) => this.waitForHandshake(edge, this.tracer ? before.get(edge)! + 1 : 'last')));
  }

  /** Restart one node keeping its datadir (and chain); its edges come back. */
  async restartNode(index: number): Promise<void> {
    await this.stopNode(index);
    await this.startNode(index);
  }

  private connectionCount(edge: Edge): number {
    return this.trace.connections().filter((c) => c.from === edge.from && c.to === edge.to).length;
  }

  /** The network's abort signal for a wait's options (Ctrl-C ends waits at once). */
  private abortable(): { signal?: AbortSignal } {
    return this.options.signal ? { signal: this.options.signal } : {};
  }

  /** Aborted when the run is interrupted; scenarios pass it to their own waits. */
  get signal(): AbortSignal | undefined {
    return this.options.signal;
  }

  private runningNodes(): BitcoinNode[] {
    return this.nodes.filter((node) => node.running);
  }

  /** Each node's debug.log tail, tracer diagnostics: what a failed test prints. */
  async failureBundle(lines = 40): Promise<string> {
    const parts: string[] = [`network in ${this.dir} (${this.binary.versionLine})`];
    for (const node of this.nodes) parts.push(`── ${node.name} debug.log (last ${lines} lines) ──\n${await node.logTail(lines)}`);
    if (this.tracer) parts.push(`── tracer (${this.tracer.source}) ──\n${this.tracer.diagnostics()}`);
    return parts.join('\n\n');
  }

  async dispose(): Promise<void> {
    this.disposed ??= this.teardown();
    return this.disposed;
  }

  private async teardown(): Promise<void> {
    untrackForSignals(this);
    await this.peers.dispose();
    await this.tracer?.detach().catch(() => undefined);
    await Promise.allSettled(this.nodes.map((node) => node.dispose()));
    await this.removeDir();
    if (this.options.keep) this.log(`kept datadirs in ${this.dir}`);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}

async function makeNetworkDir(rootDir: string | undefined, keep: boolean): Promise<{ dir: string; removeDir: () => Promise<void> }> {
  let path: string;
  try {
    ({ path } = await makeTempDir({ prefix: 'regtest-harness-', mode: 0o700, ...(rootDir === undefined ? {} : { tmpdir: rootDir }) }));
  } catch (error) {
    throw new HarnessError('DATADIR_UNWRITABLE', `cannot create the network directory under ${rootDir ?? 'the system temp dir'}: ${(error as Error).message}`, {
      fix: 'pass a writable directory as rootDir (--datadir-root), or leave it unset to use the system temp dir',
      cause: error,
    });
  }
  if (keep) return { dir: path, removeDir: async () => undefined };
  guardPath(path);
  return {
    dir: path,
    removeDir: async () => {
      await rm(path, { recursive: true, force: true });
      releasePath(path);
    },
  };
}

export { WALLET };
