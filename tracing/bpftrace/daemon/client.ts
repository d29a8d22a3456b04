/**
 * RemotePool: the TracerPool a tracer uses when the run has a tracer daemon. Leases live in the
 * daemon; this side keeps what a lease must answer synchronously (program, stats) from the
 * daemon's replies, and routes pushed records, loss and failure to each lease's subscriber.
 * Connects on first use; one connection per pool, which holds the process open only while it
 * holds leases or waits for a reply.
 */
import { createConnection, type Socket } from 'node:net';
import { HarnessError } from '../../../harness/common/errors.js';
import { readProbeNotesCached, type ProbeNote } from '../../elf-notes.js';
import { untilAborted } from '../../../harness/common/timing.js';
import type { AcquireHooks, PoolLease, PoolRequest, PoolSubscriber, TracerPool } from '../pool.js';
import {
  fromWireError,
  fromWireProgram,
  fromWireRecord,
  messageWriter,
  onMessages,
  PROTOCOL_VERSION,
  TRACER_SOCKET_ENV,
  type ClientMessage,
  type DaemonStatus,
  type LeaseSnapshot,
  type ServerMessage,
} from './protocol.js';

type Reply = Extract<ServerMessage, { id: number }>;
type Request = ClientMessage extends infer M ? (M extends { id: number } ? Omit<M, 'id'> : never) : never;

export interface RemoteLease extends PoolLease {
  /** Fetches the daemon's current stats and diagnostics (stats() returns the last ones received). */
  refresh(): Promise<void>;
}

interface Pending {
  resolve(reply: Reply): void;
  reject(error: HarnessError): void;
}

class DaemonConnection {
  private readonly pending = new Map<number, Pending>();
  private readonly subscribers = new Map<number, { subscriber: PoolSubscriber; snapshot?: LeaseSnapshot }>();
  private readonly send: (message: ClientMessage) => void;
  private nextId = 1;
  private gone: HarnessError | undefined;

  private constructor(private readonly socket: Socket, private readonly socketPath: string) {
    this.send = messageWriter<ClientMessage>(socket);
  }

  /** Resolves once the daemon said hello with our protocol version. */
  static open(socketPath: string): Promise<DaemonConnection> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(socketPath);
      const connection = new DaemonConnection(socket, socketPath);
      let greeted = false;
      socket.once('error', (error) => {
        if (!greeted) reject(unreachable(socketPath, error.message, error));
      });
      socket.on('error', () => undefined);
      socket.once('close', () => {
        if (!greeted) reject(unreachable(socketPath, 'it closed the connection before greeting'));
        connection.lost();
      });
      onMessages<ServerMessage>(socket, (message) => {
        if (!greeted) {
          if (message.op !== 'hello' || message.protocol !== PROTOCOL_VERSION) {
            reject(
              new HarnessError('TRACER_FAILED', `the tracer daemon at ${socketPath} speaks another protocol (${JSON.stringify(message).slice(0, 80)})`, {
                fix: 'rebuild (`npm run build`) so the daemon and the tests come from the same sources, then rerun',
              }),
            );
            socket.destroy();
            return;
          }
          greeted = true;
          connection.updateRef();
          resolve(connection);
          return;
        }
        connection.receive(message);
      });
    });
  }

  get closed(): boolean {
    return this.gone !== undefined;
  }

  request<R extends Reply['op']>(message: Request, expect: R, id = this.nextId++): Promise<Extract<Reply, { op: R }>> {
    if (this.gone) return Promise.reject(this.gone);
    const reply = new Promise<Reply>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.send({ ...message, id } as ClientMessage);
    this.updateRef();
    return reply.then((r) => {
      if (r.op === 'error') throw fromWireError(r.error);
      if (r.op !== expect) throw new HarnessError('TRACER_FAILED', `the tracer daemon answered '${r.op}' to '${message.op}'`, { fix: 'rebuild so the daemon and the tests match' });
      return r as Extract<Reply, { op: R }>;
    });
  }

  async acquire(request: PoolRequest, subscriber: PoolSubscriber): Promise<RemoteLease> {
    if (this.gone) throw this.gone;
    // The lease id is the acquire's id: records can arrive before 'ready' and must find the subscriber.
    const id = this.nextId++;
    const held = { subscriber } as { subscriber: PoolSubscriber; snapshot?: LeaseSnapshot };
    this.subscribers.set(id, held);
    let ready: Extract<Reply, { op: 'ready' }>;
    try {
      ready = await this.request({ op: 'acquire', request }, 'ready', id);
    } catch (error) {
      this.subscribers.delete(id);
      this.updateRef();
      throw error;
    }
    held.snapshot = ready.snapshot;
    let released = false;
    const snapshot = () => held.snapshot ?? ready.snapshot;
    return {
      program: fromWireProgram(ready.program),
      addPid: (pid) => this.send({ op: 'addPid', lease: id, pid }),
      removePid: (pid) => this.send({ op: 'removePid', lease: id, pid }),
      stats: () => snapshot().stats,
      diagnostics: () => snapshot().diagnostics,
      attachNs: () => (snapshot().attachNs === undefined ? undefined : BigInt(snapshot().attachNs!)),
      bpftracePid: () => snapshot().bpftracePid,
      // Like a local lease, sync and release never reject: a daemon that went away already failed
      // every subscriber with TRACER_FAILED, and detaching must still complete.
      sync: async () => {
        if (this.gone) return false;
        try {
          const synced = await this.request({ op: 'sync', lease: id }, 'synced');
          held.snapshot = synced.snapshot;
          return synced.ok;
        } catch {
          return false;
        }
      },
      refresh: async () => {
        held.snapshot = (await this.request({ op: 'stats', lease: id }, 'stats')).snapshot;
      },
      release: async () => {
        if (released) return;
        released = true;
        try {
          if (!this.gone) await this.request({ op: 'release', lease: id }, 'released');
        } catch {
          // the daemon is gone: nothing left to release there
        } finally {
          this.subscribers.delete(id);
          this.updateRef();
        }
      },
    };
  }

  private receive(message: ServerMessage): void {
    switch (message.op) {
      case 'record':
        this.subscribers.get(message.lease)?.subscriber.record(fromWireRecord(message.record));
        return;
      case 'lost': {
        const held = this.subscribers.get(message.lease);
        if (!held) return;
        if (held.snapshot) held.snapshot = { ...held.snapshot, stats: { ...held.snapshot.stats, lostRecords: message.total } };
        held.subscriber.lost(message.count, message.total);
        return;
      }
      case 'failed':
        this.subscribers.get(message.lease)?.subscriber.failed(fromWireError(message.error));
        return;
      case 'hello':
        return;
      default: {
        const waiter = this.pending.get(message.id);
        this.pending.delete(message.id);
        this.updateRef();
        waiter?.resolve(message);
      }
    }
  }

  /** The daemon went away: every waiting request fails, and every held lease's tracer is told. */
  private lost(): void {
    if (this.gone) return;
    this.gone = new HarnessError('TRACER_FAILED', `the tracer daemon at ${this.socketPath} went away; the trace after this point is incomplete`, {
      fix: 'read the daemon’s stderr in the test output (it names why it stopped); the vitest globalSetup restarts it with the next run',
    });
    for (const waiter of this.pending.values()) waiter.reject(this.gone);
    this.pending.clear();
    for (const { subscriber } of this.subscribers.values()) subscriber.failed(this.gone);
  }

  /** Only leases and waiting requests keep the process alive. */
  updateRef(): void {
    if (this.pending.size > 0 || this.subscribers.size > 0) this.socket.ref();
    else this.socket.unref();
  }

  close(): void {
    this.socket.destroy();
  }
}

function unreachable(socketPath: string, why: string, cause?: unknown): HarnessError {
  return new HarnessError('TRACER_FAILED', `cannot reach the tracer daemon at ${socketPath}: ${why}`, {
    fix: `start it (the regtest-harness vitest globalSetup does), or unset ${TRACER_SOCKET_ENV} to trace in-process`,
    cause,
  });
}

export class RemotePool implements TracerPool {
  private connection: Promise<DaemonConnection> | undefined;
  private readonly leases = new Set<RemoteLease>();

  constructor(readonly socketPath: string) {}

  private connect(): Promise<DaemonConnection> {
    const current = this.connection;
    if (current) {
      // A daemon that went away is not silently replaced mid-run: reconnect only for new leases.
      return current.then((c) => (c.closed ? this.reconnect() : c));
    }
    return this.reconnect();
  }

  private reconnect(): Promise<DaemonConnection> {
    const opening = DaemonConnection.open(this.socketPath);
    opening.catch(() => {
      if (this.connection === opening) this.connection = undefined;
    });
    this.connection = opening;
    return opening;
  }

  /** Read here, not in the daemon: the ELF is on this machine and the tracer needs the notes before acquiring. */
  probeNotes(elfPath: string): Promise<ProbeNote[]> {
    return readProbeNotesCached(elfPath);
  }

  /** Resolves once the daemon's session for this request is past its barrier. */
  async acquire(request: PoolRequest, subscriber: PoolSubscriber, hooks: AcquireHooks = {}): Promise<RemoteLease> {
    hooks.signal?.throwIfAborted();
    const connection = await this.connect();
    const acquiring = connection.acquire(request, subscriber);
    hooks.spawned?.(); // the daemon, another process, does the rest
    const lease = await untilAborted(acquiring, hooks.signal).catch((error: unknown) => {
      // Given up on (Ctrl-C): the lease the daemon still grants is handed back at once.
      if (hooks.signal?.aborted) void acquiring.then((late) => late.release(), () => undefined);
      throw error;
    });
    this.leases.add(lease);
    const release = lease.release;
    return {
      ...lease,
      release: async () => {
        this.leases.delete(lease);
        await release();
      },
    };
  }

  /** The daemon's own figures: sessions, bpftrace processes started, clients. */
  async status(): Promise<DaemonStatus> {
    const connection = await this.connect();
    return (await connection.request({ op: 'status' }, 'status')).status;
  }

  /** Releases this process's leases and disconnects; the daemon's sessions belong to the run and stay. */
  async shutdown(): Promise<void> {
    const leases = [...this.leases];
    this.leases.clear();
    await Promise.allSettled(leases.map((l) => l.release()));
    const connection = await this.connection?.catch(() => undefined);
    this.connection = undefined;
    connection?.close();
  }
}
