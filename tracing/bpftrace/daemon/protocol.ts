/**
 * The tracer daemon's wire format: one JSON object per line over a Unix domain socket. Values
 * JSON cannot carry as they are (bigint ns, the program's Map, HarnessError) have codecs here,
 * so server and client agree by construction.
 */
import type { Socket } from 'node:net';
import { HarnessError, type HarnessErrorCode } from '../../../harness/common/errors.js';
import type { TracepointName } from '../../events.js';
import type { RawRecord } from '../parse.js';
import type { PoolRequest } from '../pool.js';
import type { BpftraceProgram, TracepointLayout } from '../program.js';
import type { SessionStats } from '../session.js';

/** Set by the vitest globalSetup for its workers: the daemon's socket. */
export const TRACER_SOCKET_ENV = 'REGTEST_HARNESS_TRACER_SOCKET';

/** Bumped on any incompatible change: a daemon built from other sources is refused, not misread. */
export const PROTOCOL_VERSION = 1;

export type WireRecord = Omit<RawRecord, 'ns'> & { ns: string };
export type WireProgram = Omit<BpftraceProgram, 'layouts'> & { layouts: TracepointLayout[] };
export interface WireError {
  code: HarnessErrorCode;
  message: string;
  fix: string;
  evidence?: string;
}

/** What a lease shows synchronously (stats(), diagnostics(), …), refreshed by every reply about it. */
export interface LeaseSnapshot {
  stats: SessionStats;
  diagnostics: string;
  attachNs?: string;
  bpftracePid?: number;
}

/** The daemon as a whole, for tests and diagnostics. */
export interface DaemonStatus {
  pid: number;
  /** Sessions running or starting. */
  sessions: number;
  /** bpftrace processes started since the daemon started. */
  bpftraceSpawned: number;
  bpftraceRunning: number[];
  clients: number;
  leases: number;
}

export type ClientMessage =
  | { op: 'acquire'; id: number; request: PoolRequest }
  | { op: 'addPid' | 'removePid'; lease: number; pid: number }
  | { op: 'sync' | 'stats' | 'release'; id: number; lease: number }
  | { op: 'status'; id: number };

export type ServerMessage =
  | { op: 'hello'; protocol: number; pid: number }
  | { op: 'ready'; id: number; program: WireProgram; snapshot: LeaseSnapshot }
  | { op: 'synced'; id: number; ok: boolean; snapshot: LeaseSnapshot }
  | { op: 'stats'; id: number; snapshot: LeaseSnapshot }
  | { op: 'released'; id: number }
  | { op: 'status'; id: number; status: DaemonStatus }
  | { op: 'error'; id: number; error: WireError }
  | { op: 'record'; lease: number; record: WireRecord }
  | { op: 'lost'; lease: number; count: number; total: number }
  | { op: 'failed'; lease: number; error: WireError };

export const toWireRecord = (r: RawRecord): WireRecord => ({ ...r, ns: r.ns.toString() });
export const fromWireRecord = (r: WireRecord): RawRecord => ({ ...r, ns: BigInt(r.ns) }) as RawRecord;

export const toWireProgram = (p: BpftraceProgram): WireProgram => ({ ...p, layouts: [...p.layouts.values()] });
export const fromWireProgram = (p: WireProgram): BpftraceProgram => ({
  ...p,
  layouts: new Map(p.layouts.map((l) => [l.tracepoint as TracepointName, l])),
});

export function toWireError(error: unknown): WireError {
  if (error instanceof HarnessError) {
    return { code: error.code, message: error.message, fix: error.fix, ...(error.evidence ? { evidence: error.evidence } : {}) };
  }
  return { code: 'TRACER_FAILED', message: `the tracer daemon failed: ${String(error)}`, fix: 'read the daemon’s stderr (vitest prints it) and report the bug' };
}

export const fromWireError = (e: WireError): HarnessError => new HarnessError(e.code, e.message, { fix: e.fix, evidence: e.evidence });

/** A client's requests are small (an acquire is a path and a few tracepoint names); a longer line is an attack or a bug. */
export const MAX_CLIENT_LINE_BYTES = 64 * 1024;

/**
 * Calls `handle` with each JSON line the socket receives; a line that is not JSON ends the
 * connection. With `maxLineBytes`, a line that grows past it (an endless line would otherwise
 * grow the buffer without bound) calls `onOversize` and ends the connection.
 */
export function onMessages<M>(socket: Socket, handle: (message: M) => void, limit?: { maxLineBytes: number; onOversize(): void }): void {
  let buffer = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (limit && Buffer.byteLength(line) > limit.maxLineBytes) return oversize();
      if (line.trim() === '') continue;
      let message: M;
      try {
        message = JSON.parse(line) as M;
      } catch {
        socket.destroy(new Error(`not a protocol line: ${line.slice(0, 80)}`));
        return;
      }
      handle(message);
    }
    if (limit && Buffer.byteLength(buffer) > limit.maxLineBytes) oversize();
  });
  function oversize(): void {
    buffer = '';
    socket.removeAllListeners('data');
    socket.pause();
    limit!.onOversize();
  }
}

/**
 * Writes messages as lines; those written in one tick go out in one write (a record burst would
 * otherwise be one syscall per record).
 */
export function messageWriter<M>(socket: Socket): (message: M) => void {
  let corked = false;
  return (message) => {
    if (socket.destroyed || !socket.writable) return;
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(() => {
        corked = false;
        socket.uncork();
      });
    }
    socket.write(`${JSON.stringify(message)}\n`);
  };
}
