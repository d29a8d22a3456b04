/**
 * The tracer daemon's server: one SessionPool (with keep-alive) for every process of a test run,
 * served over a Unix domain socket (protocol.ts). Each client lease is a pool subscriber whose
 * records, loss and failure are pushed down that client's connection; a connection that closes,
 * however it closes, releases its leases.
 */
import { existsSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { HarnessError } from '../../../harness/common/errors.js';
import { SessionPool, type PoolLease, type PoolRequest } from '../pool.js';
import {
  messageWriter,
  onMessages,
  PROTOCOL_VERSION,
  toWireError,
  toWireProgram,
  toWireRecord,
  type ClientMessage,
  type DaemonStatus,
  type LeaseSnapshot,
  type ServerMessage,
} from './protocol.js';

export interface TracerServerOptions {
  socketPath: string;
  /** How long an unused bpftrace session lives on (default 60 s): the next network reuses it. */
  keepAliveMs?: number;
  perfRingPages?: number;
  /** Called with each bpftrace pid at spawn and exit (e.g. the reaper's guardProcess/releaseProcess). */
  onSpawn?(pid: number): void;
  onExit?(pid: number): void;
}

export interface TracerServer {
  readonly socketPath: string;
  status(): DaemonStatus;
  /** Closes every connection, stops every bpftrace, removes the socket file. */
  stop(): Promise<void>;
}

const DEFAULT_KEEP_ALIVE_MS = 60_000;

function snapshotOf(lease: PoolLease): LeaseSnapshot {
  const attachNs = lease.attachNs();
  const bpftracePid = lease.bpftracePid();
  return {
    stats: lease.stats(),
    diagnostics: lease.diagnostics(),
    ...(attachNs === undefined ? {} : { attachNs: attachNs.toString() }),
    ...(bpftracePid === undefined ? {} : { bpftracePid }),
  };
}

/** A socket file nobody answers on is left over from a daemon that died: safe to replace. */
async function removeStaleSocket(path: string): Promise<void> {
  if (!existsSync(path)) return;
  const answered = await new Promise<boolean>((resolve) => {
    const probe = createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (answered) {
    throw new HarnessError('TRACER_FAILED', `another tracer daemon already serves ${path}`, {
      fix: 'use that daemon (set REGTEST_HARNESS_TRACER_SOCKET to its socket) or pick another --socket path',
    });
  }
  unlinkSync(path);
}

export async function startTracerServer(options: TracerServerOptions): Promise<TracerServer> {
  const running = new Set<number>();
  let spawned = 0;
  const pool = new SessionPool({
    keepAliveMs: options.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS,
    ...(options.perfRingPages === undefined ? {} : { perfRingPages: options.perfRingPages }),
    onSpawn: (pid) => {
      spawned++;
      running.add(pid);
      options.onSpawn?.(pid);
    },
    onExit: (pid) => {
      running.delete(pid);
      options.onExit?.(pid);
    },
  });
  const connections = new Set<Connection>();

  const status = (): DaemonStatus => ({
    pid: process.pid,
    sessions: pool.size,
    bpftraceSpawned: spawned,
    bpftraceRunning: [...running],
    clients: connections.size,
    leases: [...connections].reduce((n, c) => n + c.leaseCount, 0),
  });

  await removeStaleSocket(options.socketPath);
  const server: Server = createServer((socket) => {
    const connection = new Connection(socket, pool, status);
    connections.add(connection);
    socket.once('close', () => {
      connections.delete(connection);
      void connection.releaseAll();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) =>
      reject(new HarnessError('TRACER_FAILED', `the tracer daemon cannot listen on ${options.socketPath}: ${error.message}`, {
        fix: 'pick a --socket path in a writable directory, at most 107 bytes long',
        cause: error,
      })),
    );
    server.listen(options.socketPath, () => resolve());
  });

  let stopping: Promise<void> | undefined;
  return {
    socketPath: options.socketPath,
    status,
    stop: () =>
      (stopping ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        const all = [...connections];
        for (const c of all) c.socket.destroy();
        await Promise.all(all.map((c) => c.releaseAll()));
        await pool.shutdown();
        await closed;
        // server.close() unlinks the socket; a crash between listen and here may not have.
        if (existsSync(options.socketPath)) unlinkSync(options.socketPath);
      })()),
  };
}

/** One client: its leases, keyed by the id of the acquire that made them. */
class Connection {
  private readonly leases = new Map<number, Promise<PoolLease | undefined>>();
  private readonly send: (message: ServerMessage) => void;
  private closed = false;

  constructor(readonly socket: Socket, private readonly pool: SessionPool, private readonly status: () => DaemonStatus) {
    this.send = messageWriter<ServerMessage>(socket);
    // A client that vanished mid-write is handled by 'close'.
    socket.on('error', () => undefined);
    socket.once('close', () => (this.closed = true));
    this.send({ op: 'hello', protocol: PROTOCOL_VERSION, pid: process.pid });
    // One malformed line must cost that client an error reply, never the daemon every worker shares.
    onMessages<ClientMessage>(socket, (message) => {
      if (typeof message !== 'object' || message === null || typeof (message as { op?: unknown }).op !== 'string') {
        this.send({ op: 'error', id: -1, error: toWireError(new HarnessError('BAD_OPTION', `the tracer daemon got a malformed message: ${JSON.stringify(message)}`, { fix: 'use RemotePool (tracing/bpftrace/daemon/client.ts) to talk to the daemon' })) } as ServerMessage);
        return;
      }
      this.handle(message).catch((error: unknown) => {
        this.send({ op: 'error', id: (message as { id?: number }).id ?? -1, error: toWireError(error instanceof HarnessError ? error : new HarnessError('TRACER_FAILED', String(error), { fix: 'see the tracer daemon diagnostics' })) } as ServerMessage);
      });
    });
  }

  get leaseCount(): number {
    return this.leases.size;
  }

  private async handle(message: ClientMessage): Promise<void> {
    switch (message.op) {
      case 'acquire':
        return this.acquire(message.id, message.request);
      case 'addPid':
      case 'removePid': {
        const lease = await this.leases.get(message.lease);
        if (message.op === 'addPid') lease?.addPid(message.pid);
        else lease?.removePid(message.pid);
        return;
      }
      case 'sync': {
        const lease = await this.leaseFor(message.id, message.lease);
        if (lease) this.send({ op: 'synced', id: message.id, ok: await lease.sync(), snapshot: snapshotOf(lease) });
        return;
      }
      case 'stats': {
        const lease = await this.leaseFor(message.id, message.lease);
        if (lease) this.send({ op: 'stats', id: message.id, snapshot: snapshotOf(lease) });
        return;
      }
      case 'release': {
        const lease = await this.leases.get(message.lease);
        this.leases.delete(message.lease);
        await lease?.release();
        this.send({ op: 'released', id: message.id });
        return;
      }
      case 'status':
        this.send({ op: 'status', id: message.id, status: this.status() });
        return;
      default:
        this.send({
          op: 'error',
          id: (message as { id?: number }).id ?? -1,
          error: { code: 'TRACER_FAILED', message: `unknown request '${(message as { op?: string }).op}'`, fix: 'run the daemon and the tests from the same build' },
        });
    }
  }

  private async leaseFor(id: number, leaseId: number): Promise<PoolLease | undefined> {
    const lease = await this.leases.get(leaseId);
    if (!lease) this.send({ op: 'error', id, error: { code: 'TRACER_FAILED', message: `lease ${leaseId} is not held`, fix: 'acquire before using a lease, and not after release' } });
    return lease;
  }

  private acquire(id: number, request: PoolRequest): Promise<void> {
    const acquiring = this.pool
      .acquire(request, {
        record: (record) => this.send({ op: 'record', lease: id, record: toWireRecord(record) }),
        lost: (count, total) => this.send({ op: 'lost', lease: id, count, total }),
        failed: (error) => this.send({ op: 'failed', lease: id, error: toWireError(error) }),
      })
      .then(
        async (lease) => {
          // The client left while bpftrace was attaching: nobody will release this lease but us.
          if (this.closed) {
            await lease.release();
            return undefined;
          }
          this.send({ op: 'ready', id, program: toWireProgram(lease.program), snapshot: snapshotOf(lease) });
          return lease;
        },
        (error: unknown) => {
          this.leases.delete(id);
          this.send({ op: 'error', id, error: toWireError(error) });
          return undefined;
        },
      );
    this.leases.set(id, acquiring);
    return acquiring.then(() => undefined);
  }

  /** Everything this client held goes back to the pool (keep-alive then decides when bpftrace stops). */
  async releaseAll(): Promise<void> {
    const held = [...this.leases.values()];
    this.leases.clear();
    await Promise.all(held.map(async (p) => (await p)?.release()));
  }
}
