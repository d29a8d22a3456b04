/**
 * The baseline: the same bitcoind started the way a hand-written script would, without the
 * harness. Minimal conf (the harness's isolation flags, fixed ports, cookie auth), a raw
 * JSON-RPC call over fetch, and 5 ms polling loops. Only port allocation and the cleanup
 * safety nets (signal handler, reaper) come from the harness, and neither is on the timed path.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dir as makeTempDir } from 'tmp-promise';
import { trackForSignals, untrackForSignals } from '../harness/common/signal-cleanup.js';
import { allocatePorts, releasePorts } from '../harness/ports.js';
import { guardPath, guardProcess, releasePath, releaseProcess } from '../harness/common/child-process/reaper.js';
import { msSince } from './stats.js';

export interface BareTimings {
  /** Spawn → every node answers getblockchaininfo. */
  readyMs: number;
  /** Spawn → every line edge has received a pong on both sides (absent for one node or when not asked). */
  handshakeMs?: number;
}

const POLL_MS = 5;
const TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 15_000;

interface BarePeer {
  addr: string;
  addrbind?: string;
  inbound: boolean;
  bytesrecv_per_msg: Record<string, number>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

class BareNode {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private cookie: string | undefined;
  private stderrTail = '';
  private requestId = 0;

  constructor(
    readonly name: string,
    readonly datadir: string,
    readonly p2pPort: number,
    readonly rpcPort: number,
  ) {}

  get p2pAddress(): string {
    return `127.0.0.1:${this.p2pPort}`;
  }

  private get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async spawn(binaryPath: string): Promise<void> {
    await mkdir(this.datadir, { recursive: true, mode: 0o700 });
    await writeFile(join(this.datadir, 'bitcoin.conf'), minimalConf(this.p2pPort, this.rpcPort));
    // Own process group, like the harness: a terminal Ctrl-C reaches us, and we stop the node.
    const child = spawn(binaryPath, [`-datadir=${this.datadir}`], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('close', () => resolve()));
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-2000);
    });
    const pid = child.pid;
    if (pid === undefined) throw new Error(`${this.name}: cannot start ${binaryPath}`);
    guardProcess(pid);
    void this.exited.then(() => releaseProcess(pid));
  }

  /** Tight loop until RPC answers: cookie file first, then getblockchaininfo (warm-up errors retried). */
  async waitReady(): Promise<void> {
    await this.pollEvery(async () => {
      this.cookie ??= await readFile(join(this.datadir, 'regtest', '.cookie'), 'utf8').catch(() => undefined);
      if (this.cookie === undefined) return false;
      return this.call('getblockchaininfo').then(
        () => true,
        () => false,
      );
    }, 'RPC to answer');
  }

  async call<T = unknown>(method: string, ...params: unknown[]): Promise<T> {
    const response = await fetch(`http://127.0.0.1:${this.rpcPort}/`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(this.cookie ?? '').toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '1.0', id: ++this.requestId, method, params }),
    });
    const text = await response.text();
    let body: { result?: T; error?: { code: number; message: string } | null };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new Error(`${this.name}: ${method}: HTTP ${response.status} ${text.slice(0, 200)}`);
    }
    if (body.error) throw new Error(`${this.name}: ${method}: ${body.error.message} (code ${body.error.code})`);
    return body.result as T;
  }

  async pollEvery(condition: () => Promise<boolean>, what: string): Promise<void> {
    const deadline = Date.now() + TIMEOUT_MS;
    for (;;) {
      if (this.child && !this.running) throw new Error(`${this.name} exited while waiting for ${what}: ${this.stderrTail.trim() || 'no stderr'}`);
      if (await condition()) return;
      if (Date.now() > deadline) throw new Error(`${this.name}: timed out after ${TIMEOUT_MS} ms waiting for ${what}`);
      await sleep(POLL_MS);
    }
  }

  /** SIGTERM (bitcoind shuts down cleanly on it), SIGKILL after a grace period. */
  async stop(): Promise<void> {
    if (!this.running) return this.exited;
    this.signal('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), STOP_GRACE_MS);
    });
    const tooSlow = await Promise.race([this.exited.then(() => false), gaveUp]);
    clearTimeout(timer);
    if (tooSlow) {
      this.signal('SIGKILL');
      await this.exited;
    }
  }

  private signal(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      this.child?.kill(signal);
    }
  }
}

function minimalConf(p2pPort: number, rpcPort: number): string {
  return [
    'regtest=1',
    '[regtest]',
    'server=1',
    'listen=1',
    `bind=127.0.0.1:${p2pPort}`,
    `rpcbind=127.0.0.1:${rpcPort}`,
    `rpcport=${rpcPort}`,
    'rpcallowip=127.0.0.1',
    // Same isolation as harness/conf.ts: loopback only, nothing discovered.
    'listenonion=0',
    'dnsseed=0',
    'fixedseeds=0',
    'discover=0',
    'upnp=0',
    'natpmp=0',
    'printtoconsole=0',
    '',
  ].join('\n');
}

/** Every node of a bare run, their ports and their temp dir; dispose() stops and removes them all. */
class BareCluster {
  private disposed: Promise<void> | undefined;

  private constructor(
    readonly dir: string,
    readonly nodes: BareNode[],
    private readonly ports: number[],
  ) {}

  static async create(count: number): Promise<BareCluster> {
    const { path: dir } = await makeTempDir({ prefix: 'regtest-bench-bare-', mode: 0o700 });
    guardPath(dir);
    const ports = await allocatePorts(2 * count);
    // Not tracked for signals yet: if we die now, the reaper removes the port claims and the dir.
    const nodes = Array.from({ length: count }, (_, i) => new BareNode(`bare${i}`, join(dir, `node${i}`), ports[2 * i]!, ports[2 * i + 1]!));
    return new BareCluster(dir, nodes, ports);
  }

  dispose(): Promise<void> {
    this.disposed ??= (async () => {
      await Promise.allSettled(this.nodes.map((node) => node.stop()));
      await rm(this.dir, { recursive: true, force: true });
      releasePath(this.dir);
      releasePorts(this.ports);
    })();
    return this.disposed;
  }
}

/** Whether the edge dialer → listener has a completed handshake on both sides (a pong can only follow one). */
async function pongBothWays(dialer: BareNode, listener: BareNode): Promise<boolean> {
  const outbound = (await dialer.call<BarePeer[]>('getpeerinfo')).find((p) => !p.inbound && p.addr === listener.p2pAddress);
  if (!outbound?.bytesrecv_per_msg.pong || !outbound.addrbind) return false;
  const inbound = (await listener.call<BarePeer[]>('getpeerinfo')).find((p) => p.inbound && p.addr === outbound.addrbind);
  return Boolean(inbound?.bytesrecv_per_msg.pong);
}

/**
 * Start `count` bare nodes and time them from spawn; with `handshakes`, also connect them in a
 * line (node i dials node i-1, `addnode onetry`) and time until every handshake is complete.
 */
export async function timeBareNodes(binaryPath: string, count: number, options: { handshakes: boolean }): Promise<BareTimings> {
  const cluster = await BareCluster.create(count);
  trackForSignals(cluster);
  try {
    const { nodes } = cluster;
    const startNs = process.hrtime.bigint();
    await Promise.all(nodes.map((node) => node.spawn(binaryPath)));
    await Promise.all(nodes.map((node) => node.waitReady()));
    const readyMs = msSince(startNs);
    if (!options.handshakes || count < 2) return { readyMs };

    const edges = nodes.slice(1).map((dialer, i) => ({ dialer, listener: nodes[i]! }));
    await Promise.all(edges.map(({ dialer, listener }) => dialer.call('addnode', listener.p2pAddress, 'onetry')));
    await Promise.all(edges.map(({ dialer, listener }) => dialer.pollEvery(() => pongBothWays(dialer, listener), `handshake with ${listener.name}`)));
    return { readyMs, handshakeMs: msSince(startNs) };
  } finally {
    untrackForSignals(cluster);
    await cluster.dispose();
  }
}
