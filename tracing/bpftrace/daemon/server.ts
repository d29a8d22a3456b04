/**
 * The tracer daemon's server: one SessionPool (with keep-alive) for every process of a test run,
 * served over a Unix domain socket (protocol.ts). Each client lease is a pool subscriber whose
 * records, loss and failure are pushed down that client's connection; a connection that closes,
 * however it closes, releases its leases.
 */
import { chmodSync, lstatSync, mkdirSync, rmdirSync, unlinkSync } from 'node:fs';
import { dirname, isAbsolute } from 'node:path';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { HarnessError } from '../../../harness/common/errors.js';
import { readProbeNotesCached } from '../../elf-notes.js';
import { SessionPool, type PoolLease, type PoolRequest } from '../pool.js';
import {
  MAX_CLIENT_LINE_BYTES,
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
  /** Called with each bpftrace pid at spawn and exit (the reaper already guards it: harness/common/child-process/spawn.ts). */
  onSpawn?(pid: number): void;
  onExit?(pid: number): void;
}

export interface TracerServer {
  readonly socketPath: string;
  status(): DaemonStatus;
  /** Closes every connection, stops every bpftrace, removes the socket file. */
  stop(): Promise<void>;
  /** Resolves once every bpftrace it stopped has exited (the kernel's uprobe detach is done). */
  bpftraceGone(): Promise<void>;
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

const myUid = (): number => process.getuid?.() ?? 0;

/**
 * The socket's directory: created here with mode 0700, or, if it exists, ours and closed to
 * everyone else. Only this user (and root) can then reach the socket, whatever the umask;
 * a daemon run as root answers nobody else.
 */
/** Returns whether it created the directory (then stop() removes it again). */
function preparePrivateDir(socketPath: string): boolean {
  const dir = dirname(socketPath);
  const fix = `pass a --socket path in a directory only you can access (it is created with mode 0700 when missing), e.g. --socket /run/user/$(id -u)/regtest-tracer/daemon.sock`;
  let created = false;
  try {
    mkdirSync(dir, { mode: 0o700 });
    created = true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new HarnessError('TRACER_FAILED', `the tracer daemon cannot create ${dir}: ${(error as Error).message}`, { fix, cause: error });
    }
  }
  const info = lstatSync(dir);
  const problem = info.isSymbolicLink() || !info.isDirectory()
    ? 'is not a directory'
    : info.uid !== myUid()
      ? `is owned by uid ${info.uid}`
      : (info.mode & 0o077) !== 0
        ? `is open to other users (mode ${(info.mode & 0o777).toString(8)})`
        : undefined;
  if (problem) throw new HarnessError('TRACER_FAILED', `refusing to put the tracer daemon's socket in ${dir}: it ${problem}`, { fix });
  return created;
}

/** Whether `path` is a socket this user owns (the only kind of file the daemon ever removes). */
function isOwnSocket(path: string): boolean {
  try {
    const info = lstatSync(path);
    return info.isSocket() && info.uid === myUid();
  } catch {
    return false;
  }
}

/**
 * A socket file of ours that nobody answers on is left over from a daemon that died: safe to
 * replace. Anything else at that path (a regular file, a symlink, someone else's socket) is refused.
 */
async function removeStaleSocket(path: string): Promise<void> {
  try {
    lstatSync(path);
  } catch {
    return; // nothing there
  }
  if (!isOwnSocket(path)) {
    throw new HarnessError('TRACER_FAILED', `${path} exists and is not a socket of yours: the tracer daemon will not remove it`, {
      fix: 'pick another --socket path, or remove that file yourself if it is debris',
    });
  }
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

  const createdDir = preparePrivateDir(options.socketPath);
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
    // Created 0600 (umask 0177 for the bind), not whatever the caller's umask allows.
    const umask = process.umask(0o177);
    try {
      server.listen(options.socketPath, () => resolve());
    } finally {
      process.umask(umask);
    }
  });
  chmodSync(options.socketPath, 0o600);

  let stopping: Promise<void> | undefined;
  return {
    socketPath: options.socketPath,
    status,
    bpftraceGone: () => pool.waitForExit(),
    stop: () =>
      (stopping ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        const all = [...connections];
        for (const c of all) c.socket.destroy();
        await Promise.all(all.map((c) => c.releaseAll()));
        await pool.shutdown();
        await closed;
        // server.close() unlinks the socket; a crash between listen and here may not have.
        if (isOwnSocket(options.socketPath)) unlinkSync(options.socketPath);
        if (createdDir) try {
          rmdirSync(dirname(options.socketPath));
        } catch {
          // not empty (someone else's files): leave it
        }
      })()),
  };
}

/**
 * The daemon may run as root: it must not tell a client why a file cannot be traced (missing,
 * unreadable, not ELF...), or it answers "does this file exist?" for anyone who can connect.
 * The client reads the probe notes itself first (RemotePool.probeNotes in client.ts), with its
 * own rights, and gets the precise error there; the daemon answers only "cannot trace".
 */
async function untraceableReason(elfPath: unknown): Promise<void> {
  const refuse = () =>
    new HarnessError('TRACER_FAILED', `the tracer daemon cannot trace ${JSON.stringify(elfPath)}`, {
      fix: 'read its probe notes in your own process first (RemotePool does): that error says why',
    });
  if (typeof elfPath !== 'string' || !isAbsolute(elfPath)) throw refuse();
  try {
    await readProbeNotesCached(elfPath);
  } catch {
    throw refuse();
  }
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
    onMessages<ClientMessage>(
      socket,
      (message) => {
      if (typeof message !== 'object' || message === null || typeof (message as { op?: unknown }).op !== 'string') {
        this.send({ op: 'error', id: -1, error: toWireError(new HarnessError('BAD_OPTION', `the tracer daemon got a malformed message: ${JSON.stringify(message)}`, { fix: 'use RemotePool (tracing/bpftrace/daemon/client.ts) to talk to the daemon' })) } as ServerMessage);
        return;
      }
      this.handle(message).catch((error: unknown) => {
        this.send({ op: 'error', id: (message as { id?: number }).id ?? -1, error: toWireError(error instanceof HarnessError ? error : new HarnessError('TRACER_FAILED', String(error), { fix: 'see the tracer daemon diagnostics' })) } as ServerMessage);
      });
      },
      {
        maxLineBytes: MAX_CLIENT_LINE_BYTES,
        onOversize: () => {
          this.send({ op: 'error', id: -1, error: { code: 'BAD_OPTION', message: `the tracer daemon got a line longer than ${MAX_CLIENT_LINE_BYTES} bytes: connection closed`, fix: 'use RemotePool (tracing/bpftrace/daemon/client.ts) to talk to the daemon' } });
          // Flush the error, then drop the connection whatever the client keeps sending.
          process.nextTick(() => socket.end(() => socket.destroy()));
        },
      },
    );
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
    const acquiring = untraceableReason(request.elfPath)
      .then(() => this.pool.acquire(request, {
        record: (record) => this.send({ op: 'record', lease: id, record: toWireRecord(record) }),
        lost: (count, total) => this.send({ op: 'lost', lease: id, count, total }),
        failed: (error) => this.send({ op: 'failed', lease: id, error: toWireError(error) }),
      }))
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
