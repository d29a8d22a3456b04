import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pRetry, { AbortError } from 'p-retry';
import type { BitcoindBinary } from './binary.js';
import { makeRpcCredentials, renderConf, type RpcCredentials } from './conf.js';
import { ChildExitedError, ChildProcessHandle, describeExit, type ExitInfo } from './common/child-process/index.js';
import { HarnessError } from './common/errors.js';
import { budget, makeTiming, type Timing } from './common/timing.js';
import { allocatePorts, canBind, releasePorts } from './ports.js';
import { RPC_IN_WARMUP, Rpc, RpcError } from './rpc.js';

export interface NodeOptions {
  index: number;
  binary: BitcoindBinary;
  /** The node's own datadir (created if missing). */
  datadir: string;
  /** Addresses to `-connect=` at start. */
  connect?: readonly string[];
  /** Addresses to `-addnode=` at start. */
  addnode?: readonly string[];
  /** `-whitelist=noban@127.0.0.1` (default true): relay between harness nodes without the ~5 s trickle delay. */
  fastRelay?: boolean;
  v2transport?: boolean;
  /** Extra bitcoind arguments (`-name=value`), written into bitcoin.conf. */
  extraArgs?: readonly string[];
  /** Abort signal and timeout factor for start, stop and readiness (harness/common/timing.ts). */
  timing?: Timing;
  /** Fixed ports instead of allocated ones: a taken port is then an error, not a retry. */
  ports?: { p2p: number; rpc: number };
  /** Called with each new pid (start and restart), e.g. so a tracer can follow it. */
  onSpawn?: (node: BitcoinNode) => void;
}

/** Per start(): how a network sequences its nodes' start-up (harness/spawn-barrier.ts). */
export interface StartHooks {
  /** Called once bitcoind has been spawned. */
  spawned?: () => void;
  /** Resolves when the first RPC call may be made. */
  beforeFirstRpc?: Promise<void>;
}

const BIND_RETRIES = 3;
const LOG_TAIL_LINES = 30;

/**
 * One bitcoind -regtest process: its datadir, ports, credentials, process and RPC.
 * The datadir outlives restarts; ports are claimed once and kept (a restart binds them again).
 */
export class BitcoinNode {
  readonly index: number;
  readonly name: string;
  readonly datadir: string;
  readonly binary: BitcoindBinary;
  p2pPort = 0;
  rpcPort = 0;
  /** How often start() had to move to fresh ports because one was taken meanwhile (bind-and-retry). */
  portRetries = 0;
  private readonly credentials: RpcCredentials = makeRpcCredentials();
  private process: ChildProcessHandle | undefined;
  private readonly timing: Timing;
  /** Called when the process exits without the harness having asked it to. */
  private readonly exitListeners = new Set<(exit: ExitInfo) => void>();
  private stopRequested = false;
  private rpcClient: Rpc | undefined;
  private connectTo: readonly string[];
  private readonly options: NodeOptions;

  constructor(options: NodeOptions) {
    this.options = options;
    this.index = options.index;
    this.name = `node${options.index}`;
    this.datadir = options.datadir;
    this.binary = options.binary;
    this.connectTo = options.connect ?? [];
    this.timing = options.timing ?? makeTiming();
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }

  get running(): boolean {
    return this.process?.running ?? false;
  }

  /** How the last process exited (undefined while it runs or before the first start). */
  get lastExit(): ExitInfo | undefined {
    return this.process?.exit;
  }

  /**
   * `listener` is called when bitcoind exits on its own (crash, kill -9, full disk) — not after
   * stop()/kill(). Returns a function that removes the listener.
   */
  onUnexpectedExit(listener: (exit: ExitInfo) => void): () => void {
    this.exitListeners.add(listener);
    return () => this.exitListeners.delete(listener);
  }

  get p2pAddress(): string {
    return `127.0.0.1:${this.p2pPort}`;
  }

  get debugLogPath(): string {
    return join(this.datadir, 'regtest', 'debug.log');
  }

  get rpc(): Rpc {
    if (!this.rpcClient) throw new Error(`${this.name} has no ports yet: call reservePorts() or start() first`);
    return this.rpcClient;
  }

  /** Claim P2P and RPC ports now, so a topology can name this node's address before it starts. */
  async reservePorts(): Promise<void> {
    if (this.p2pPort !== 0) return;
    if (this.options.ports) {
      this.p2pPort = this.options.ports.p2p;
      this.rpcPort = this.options.ports.rpc;
      this.rpcClient = this.makeRpc();
      return;
    }
    const [p2p, rpc] = await allocatePorts(2);
    this.p2pPort = p2p!;
    this.rpcPort = rpc!;
    this.rpcClient = this.makeRpc();
  }

  private makeRpc(): Rpc {
    return new Rpc({ host: '127.0.0.1', port: this.rpcPort, username: this.credentials.user, password: this.credentials.password }, budget(this.timing, 'rpcCall'));
  }

  private releasePortClaims(): void {
    if (this.p2pPort === 0) return;
    if (this.options.ports) return; // not ours to release
    releasePorts([this.p2pPort, this.rpcPort]);
    this.p2pPort = 0;
    this.rpcPort = 0;
    this.rpcClient = undefined;
  }

  /** Change the `-connect=` list (used when a peer had to move to other ports). Takes effect at the next start. */
  setConnect(addresses: readonly string[]): void {
    this.connectTo = addresses;
  }

  /**
   * Spawn bitcoind and wait until RPC answers. Retries on fresh ports if a port was taken meanwhile.
   * `spawned` is called once the process exists; the first RPC call waits for `beforeFirstRpc`
   * (harness/spawn-barrier.ts).
   */
  async start(hooks: StartHooks = {}): Promise<void> {
    this.timing.signal?.throwIfAborted(); // an action still running after Ctrl-C must not bring a node back
    await this.createDatadir();
    for (let attempt = 1; ; attempt++) {
      await this.reservePorts();
      try {
        await this.spawnAndWait(hooks);
        return;
      } catch (error) {
        const portTaken = error instanceof HarnessError && error.code === 'PORT_IN_USE';
        if (!portTaken || this.options.ports || attempt >= BIND_RETRIES) throw error;
        this.portRetries += 1;
        this.releasePortClaims(); // bind-and-retry: another process took a port between our check and bitcoind's bind
      }
    }
  }

  private async createDatadir(): Promise<void> {
    try {
      await mkdir(this.datadir, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw new HarnessError('DATADIR_UNWRITABLE', `cannot create ${this.name}'s datadir ${this.datadir}: ${(error as Error).message}`, {
        fix: 'pass a writable directory as the datadir root (rootDir option / --datadir-root), or unset it to use the system temp dir',
        cause: error,
      });
    }
  }

  private async spawnAndWait(hooks: StartHooks): Promise<void> {
    await writeFile(join(this.datadir, 'bitcoin.conf'), renderConf({
      p2pPort: this.p2pPort,
      rpcPort: this.rpcPort,
      rpcUser: this.credentials.user,
      rpcAuth: this.credentials.rpcAuth,
      connect: this.connectTo,
      addnode: this.options.addnode ?? [],
      fastRelay: this.options.fastRelay ?? true,
      version: this.binary.version,
      v2transport: this.options.v2transport,
      extraArgs: this.options.extraArgs ?? [],
    }), { mode: 0o600 });
    await this.failFastIfPortsTaken();

    let child: ChildProcessHandle;
    try {
      child = await ChildProcessHandle.spawn(this.name, this.binary.path, [`-datadir=${this.datadir}`], { env: { ...process.env, LC_ALL: 'C' } });
    } catch (error) {
      throw new HarnessError('BINARY_NOT_EXECUTABLE', `${this.name}: cannot start ${this.binary.path}: ${(error as Error).message}`, {
        fix: 'check that the bitcoind path is executable (regtest-harness provision prints a working one)',
        cause: error,
      });
    }
    this.process = child;
    this.stopRequested = false;
    void child.exited.then((exit) => {
      if (!this.stopRequested && this.process === child) for (const listener of this.exitListeners) listener(exit);
    });
    this.options.onSpawn?.(this);
    hooks.spawned?.();
    await this.waitForRpc(hooks.beforeFirstRpc);
  }

  /** A port that is already taken now fails at once, naming the port, instead of after bitcoind's own error. */
  private async failFastIfPortsTaken(): Promise<void> {
    for (const port of [this.p2pPort, this.rpcPort]) {
      if (!(await canBind(port))) {
        throw new HarnessError('PORT_IN_USE', `${this.name}: port ${port} on 127.0.0.1 is already in use`, {
          fix: `stop the process listening on ${port} (see: ss -ltnp 'sport = :${port}'), or leave the ports unset so the harness picks free ones`,
        });
      }
    }
  }

  /** Until RPC answers (warm-up errors tolerated, as Core's TestNode.wait_for_rpc_connection does). */
  private async waitForRpc(beforeFirstRpc?: Promise<void>): Promise<void> {
    const child = this.process!;
    const timeoutMs = budget(this.timing, 'nodeReady');
    try {
      await child.ready(
        async (abort) => {
          await beforeFirstRpc;
          return pRetry(
            async () => {
              try {
                await this.rpc.call('getblockchaininfo');
              } catch (error) {
                if (error instanceof RpcError && error.rpcCode !== undefined && error.rpcCode !== RPC_IN_WARMUP) throw new AbortError(error);
                throw error;
              }
            },
            { retries: Number.POSITIVE_INFINITY, minTimeout: 10, factor: 1.2, maxTimeout: 50, signal: abort },
          );
        },
        { timeoutMs, what: 'RPC', ...(this.timing.signal ? { signal: this.timing.signal } : {}) },
      );
    } catch (error) {
      if (this.timing.signal?.aborted) {
        await this.kill();
        throw error;
      }
      await this.explainStartFailure(error, timeoutMs);
    }
  }

  private async explainStartFailure(error: unknown, timeoutMs: number): Promise<never> {
    const exitedEarly = error instanceof ChildExitedError || !this.running;
    if (!exitedEarly) await this.kill();
    const evidence = await this.logTail();
    const stderr = this.process?.stderrTail.read() ?? '';
    const text = `${stderr}\n${evidence}`;
    const bindFailure = /Unable to bind to (\S+)/.exec(text);
    if (bindFailure) {
      throw new HarnessError('PORT_IN_USE', `${this.name}: bitcoind could not bind ${bindFailure[1]}: the port is already in use`, {
        fix: 'stop the process holding that port, or let the harness pick other ports',
        evidence,
      });
    }
    const stderrLine = this.process?.stderrTail.lastLine();
    if (exitedEarly) {
      const how = this.process?.exit ? ` (${describeExit(this.process.exit)})` : '';
      throw new HarnessError('NODE_CRASHED', `${this.name} exited during start-up${how}${stderrLine ? `: ${stderrLine}` : ''}`, {
        fix: `read the last lines of ${this.debugLogPath} below; a bad extra argument or an unusable datadir are the usual causes`,
        evidence,
        cause: error,
      });
    }
    throw new HarnessError('NODE_TIMEOUT', `${this.name} did not answer RPC within ${timeoutMs} ms`, {
      fix: 'the machine may be overloaded: set REGTEST_HARNESS_TIMEOUT_FACTOR=3 (every timeout ×3), or read the debug.log tail below',
      evidence,
      cause: error,
    });
  }

  /** Graceful stop: RPC stop → wait → SIGTERM → wait → SIGKILL. Keeps the datadir and ports. */
  async stop(): Promise<void> {
    const child = this.process;
    if (!child) return;
    this.stopRequested = true;
    await child.stop({
      graceful: () => this.rpc.call('stop'),
      gracefulMs: budget(this.timing, 'nodeStop'),
      termMs: budget(this.timing, 'sigtermGrace'),
    });
  }

  /** Stop then start again with the same datadir (and ports, unless they were taken meanwhile). */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** SIGKILL and wait for the exit (not reported as unexpected). */
  async kill(): Promise<void> {
    this.stopRequested = true;
    await this.process?.kill();
  }

  /**
   * Stop the process and give back the ports. The datadir belongs to whoever made it (the network).
   * `kill`: SIGKILL at once, for a throwaway datadir after Ctrl-C (a graceful stop waits for
   * whatever RPC bitcoind is busy with, e.g. createwallet, which can take seconds).
   */
  async dispose(options: { kill?: boolean } = {}): Promise<void> {
    if (options.kill) await this.kill();
    else await this.stop();
    this.releasePortClaims();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }

  /** The last lines of debug.log, for error reports and failure bundles. */
  async logTail(lines = LOG_TAIL_LINES): Promise<string> {
    try {
      const handle = await open(this.debugLogPath, 'r');
      try {
        const { size } = await handle.stat();
        const length = Math.min(size, 64 * 1024);
        const buffer = Buffer.alloc(length);
        await handle.read(buffer, 0, length, size - length);
        return buffer.toString('utf8').split('\n').slice(-lines - 1).join('\n').trimEnd();
      } finally {
        await handle.close();
      }
    } catch {
      return this.process?.stderrTail.read() || `(no ${this.debugLogPath} yet)`;
    }
  }

  /** The whole debug.log (for the failure bundle). */
  async readLog(): Promise<string> {
    return readFile(this.debugLogPath, 'utf8').catch(() => '');
  }
}
