/**
 * Follow a growing text file line by line (`tail -F` for one reader), for bitcoind's debug.log.
 *
 * Event-driven: an fs.watch (inotify) on the file triggers a read to EOF. Reads are
 * coalesced, so a burst of writes costs one drain, and each drain reads until EOF, so a
 * merged or dropped notification can delay a line but never lose it. A low-frequency
 * safety re-check backs fs.watch up where it is silent (inotify queue overflow, network
 * and some container file systems); an idle re-check is one pread that returns 0 bytes.
 *
 * Lines are split on `\n` at the byte level (a UTF-8 character cut by a chunk boundary is
 * decoded only once whole). A line is delivered only once its `\n` is read: bitcoind writes
 * whole lines, and a half-written `peer=1` of `peer=12` must not be parsed.
 */
import { watch, type FSWatcher } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { HarnessError } from '../harness/common/errors.js';

/**
 * How often the file is re-read without a notification. Measured (2-core VM, fs/promises): an
 * idle re-check (pread at EOF plus fstat) costs ~130 µs of CPU, so 4/s per node is ~0.05 % of a
 * core; it only bounds latency when inotify is silent, and 250 ms is far inside any test's wait.
 * With inotify working, the measured median write→event latency is ~0.3 ms.
 */
export const DEFAULT_SAFETY_RECHECK_MS = 250;
/** bitcoind opens debug.log within ~0.1 s of spawn on a loaded 2-core box; this is generous. */
export const DEFAULT_APPEAR_TIMEOUT_MS = 15_000;

const READ_CHUNK_BYTES = 64 * 1024;
const NEWLINE = 0x0a;

export interface LogFollowOptions {
  /** Called once per complete line, in file order, without its `\n`. Must not throw. */
  onLine: (line: string) => void;
  /** Called when following fails after open (read error, file shrank). */
  onError: (error: HarnessError) => void;
  /**
   * Where to begin: a byte offset (0, the first byte, by default) or 'end' (the file's size
   * at open; a partial line there is skipped, not delivered as a fragment).
   */
  from?: number | 'end';
  safetyRecheckMs?: number;
  /** How long `open` waits for the file to appear. */
  appearTimeoutMs?: number;
  /** Aborts a pending `open` (the file never appeared and the caller gave up). */
  signal?: AbortSignal;
}

export interface LogFollowStats {
  path: string;
  /** Complete lines delivered. */
  lines: number;
  /** Bytes read from the file (from the start offset). */
  bytes: number;
  /** Bytes after the last `\n` when the follower closed: a line still being written. */
  unterminatedBytes: number;
  /** How many times fs.watch reported a change (zero means only the re-check was working). */
  notifications: number;
}

export class LogFollower {
  private readonly buffer = Buffer.allocUnsafe(READ_CHUNK_BYTES);
  /** Bytes of the line being assembled (read, but no `\n` yet). */
  private partial: Buffer[] = [];
  private partialBytes = 0;
  /** Next byte to read. */
  private readOffset: number;
  /** While true, bytes up to the first `\n` are dropped (started mid-line). */
  private skippingToNewline: boolean;
  private watcher: FSWatcher | undefined;
  private recheck: NodeJS.Timeout | undefined;
  private drain: Promise<void> | undefined;
  private drainAgain = false;
  private failed = false;
  private closed: Promise<void> | undefined;
  private lineCount = 0;
  private byteCount = 0;
  private notificationCount = 0;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    startOffset: number,
    skipToNewline: boolean,
    private readonly options: LogFollowOptions,
  ) {
    this.readOffset = startOffset;
    this.skippingToNewline = skipToNewline;
  }

  /**
   * Wait for the file to exist, open it, arm the watcher and start reading. Resolves once
   * reading has started: every line written from `from` on will be delivered.
   */
  static async open(path: string, options: LogFollowOptions): Promise<LogFollower> {
    await waitForFile(path, options.appearTimeoutMs ?? DEFAULT_APPEAR_TIMEOUT_MS, options.safetyRecheckMs ?? DEFAULT_SAFETY_RECHECK_MS, options.signal);
    const handle = await open(path, 'r');
    try {
      const { start, skipToNewline } = await resolveStart(handle, path, options.from ?? 0);
      const follower = new LogFollower(path, handle, start, skipToNewline, options);
      follower.start();
      return follower;
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** Byte offset just past the last delivered line: where a successor must start to neither lose nor repeat a line. */
  get position(): number {
    return this.readOffset - this.partialBytes;
  }

  stats(): LogFollowStats {
    return { path: this.path, lines: this.lineCount, bytes: this.byteCount, unterminatedBytes: this.partialBytes, notifications: this.notificationCount };
  }

  /** Read to EOF (delivering every complete line), then release the watcher, timer and file handle. Idempotent. */
  close(): Promise<void> {
    this.closed ??= this.shutDown();
    return this.closed;
  }

  private start(): void {
    try {
      this.watcher = watch(this.path, { persistent: true }, () => {
        this.notificationCount++;
        this.requestDrain();
      });
      // A watcher that errors (file system without inotify) leaves the re-check in charge.
      this.watcher.on('error', () => this.stopWatching());
    } catch {
      this.watcher = undefined;
    }
    this.recheck = setInterval(() => this.requestDrain(), this.options.safetyRecheckMs ?? DEFAULT_SAFETY_RECHECK_MS);
    this.requestDrain();
  }

  private stopWatching(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  /** One drain at a time; a request during a drain makes it run once more, so no write is missed. */
  private requestDrain(): void {
    if (this.failed) return;
    if (this.drain) {
      this.drainAgain = true;
      return;
    }
    this.drain = this.drainUntilQuiet().finally(() => {
      this.drain = undefined;
    });
  }

  private async drainUntilQuiet(): Promise<void> {
    do {
      this.drainAgain = false;
      try {
        await this.readToEof();
      } catch (error) {
        this.fail(
          new HarnessError('TRACER_FAILED', `reading ${this.path} failed: ${(error as Error).message}`, {
            fix: 'check that the file is readable by this user and still on disk; the node may have lost its datadir',
            cause: error,
          }),
        );
        return;
      }
    } while (this.drainAgain && !this.failed);
  }

  private async readToEof(): Promise<void> {
    for (;;) {
      const { bytesRead } = await this.handle.read(this.buffer, 0, this.buffer.length, this.readOffset);
      if (bytesRead === 0) break;
      this.readOffset += bytesRead;
      this.byteCount += bytesRead;
      this.split(this.buffer.subarray(0, bytesRead));
    }
    // At EOF: a file smaller than what we read was truncated or replaced, and lines were lost.
    const { size } = await this.handle.stat();
    if (size < this.readOffset) {
      this.fail(
        new HarnessError('TRACE_EVENTS_LOST', `${this.path} shrank from ${this.readOffset} to ${size} bytes while being followed`, {
          fix: 'do not rotate or truncate debug.log during a trace (run nodes with -shrinkdebugfile=0)',
        }),
      );
    }
  }

  private split(chunk: Buffer): void {
    let lineStart = 0;
    for (let nl = chunk.indexOf(NEWLINE); nl !== -1; nl = chunk.indexOf(NEWLINE, lineStart)) {
      const piece = chunk.subarray(lineStart, nl);
      lineStart = nl + 1;
      if (this.skippingToNewline) {
        this.skippingToNewline = false;
        continue;
      }
      let line: string;
      if (this.partialBytes === 0) {
        line = piece.toString('utf8');
      } else {
        this.partial.push(piece);
        line = Buffer.concat(this.partial, this.partialBytes + piece.length).toString('utf8');
        this.partial = [];
        this.partialBytes = 0;
      }
      this.lineCount++;
      this.options.onLine(line);
    }
    if (lineStart < chunk.length && !this.skippingToNewline) {
      // Copy: `chunk` is a view of the reused read buffer.
      const rest = Buffer.from(chunk.subarray(lineStart));
      this.partial.push(rest);
      this.partialBytes += rest.length;
    }
  }

  private fail(error: HarnessError): void {
    if (this.failed) return;
    this.failed = true;
    this.options.onError(error);
  }

  private async shutDown(): Promise<void> {
    this.stopWatching();
    clearInterval(this.recheck);
    this.recheck = undefined;
    try {
      // Wait out a running drain, then one final drain picks up everything written before close.
      await this.drain;
      this.requestDrain();
      await this.drain;
    } finally {
      await this.handle.close();
    }
  }
}

async function resolveStart(handle: FileHandle, path: string, from: number | 'end'): Promise<{ start: number; skipToNewline: boolean }> {
  const { size } = await handle.stat();
  const start = from === 'end' ? size : from;
  if (!Number.isInteger(start) || start < 0 || start > size) {
    throw new HarnessError('TRACER_FAILED', `cannot follow ${path} from byte ${String(from)}: the file has ${size} bytes`, {
      fix: 'the file was truncated or replaced since it was last read; restart the trace with a fresh datadir',
    });
  }
  if (from !== 'end' || start === 0) return { start, skipToNewline: false };
  // Mid-line when the byte before is not `\n`: skip that line's tail rather than deliver a fragment.
  const previous = Buffer.alloc(1);
  await handle.read(previous, 0, 1, start - 1);
  return { start, skipToNewline: previous[0] !== NEWLINE };
}

/**
 * Resolve once `path` exists. Watches the nearest existing ancestor directory, so it wakes on
 * creation of the file or of a missing directory on the way (bitcoind creates `regtest/` too);
 * the re-check interval covers file systems that don't notify.
 */
async function waitForFile(path: string, timeoutMs: number, recheckMs: number, signal: AbortSignal | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    signal?.throwIfAborted();
    const dir = await nearestExistingDirectory(dirname(path));
    let wake: () => void = () => undefined;
    const woken = new Promise<void>((resolve) => {
      wake = resolve;
    });
    let watcher: FSWatcher | undefined;
    try {
      watcher = watch(dir, { persistent: true }, () => wake());
      watcher.on('error', () => wake());
    } catch {
      watcher = undefined; // directory vanished between the check and the watch; loop re-checks
    }
    const timer = setTimeout(wake, Math.min(recheckMs, Math.max(0, deadline - Date.now())));
    const onAbort = (): void => wake();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      signal?.throwIfAborted(); // aborted before the listener was added
      // Check after arming the watcher, so a file created in between is not missed.
      if (await exists(path)) return;
      if (Date.now() >= deadline) {
        throw new HarnessError('TRACER_FAILED', `${path} did not appear within ${timeoutMs} ms`, {
          fix: 'check that the node started (see its stderr) and that debugLogPath matches its -datadir and -debuglogfile',
          evidence: `nearest existing directory: ${dir}`,
        });
      }
      await woken;
    } finally {
      clearTimeout(timer);
      watcher?.close();
      signal?.removeEventListener('abort', onAbort);
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

async function nearestExistingDirectory(dir: string): Promise<string> {
  for (let current = dir; ; current = dirname(current)) {
    if ((await exists(current)) || current === dirname(current)) return current;
  }
}
