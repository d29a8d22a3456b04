import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { DEFAULT_TIMEOUTS } from '../timing.js';
import { guardProcess, releaseProcess } from './reaper.js';
import { OutputTail } from './output-tail.js';
import { signalGroup } from './signal.js';

/**
 * Every long-lived child of the harness (bitcoind nodes, bpftrace sessions, the tracer daemon)
 * is started and stopped here, one way:
 *  - spawned in its own process group, so a terminal's Ctrl-C reaches the harness only and the
 *    harness decides the order of shutdown;
 *  - registered with the reaper (reaper.ts) from spawn to exit, so it dies with a SIGKILLed owner;
 *  - its stderr kept as a bounded tail for error reports;
 *  - readiness raced against its exit, a timeout and an abort signal (`ready`);
 *  - stopped by escalation: a graceful step of the caller's (RPC `stop`), SIGTERM, SIGKILL.
 * Children that run as root under `sudo -n` are signalled through `sudo -n kill`.
 */
export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  /** 'pipe' to read stdout lines (`lines()`), else ignored. */
  stdout?: 'pipe' | 'ignore';
  /** A pipe whose EOF tells the child we are gone (the tracer daemon's lifeline). */
  stdinLifeline?: boolean;
  /** stderr: kept as a tail (default), or passed through to ours. */
  stderr?: 'tail' | 'inherit';
  /** Every stderr chunk as it arrives (besides the tail), e.g. to filter known noise. */
  onStderr?: (chunk: string) => void;
  /** The child runs under `sudo -n`: signals go through `sudo -n kill`. */
  viaSudo?: boolean;
  /** Don't let the child, or its pipes, keep our event loop alive (a daemon outliving a test file). */
  unref?: boolean;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StopPlan {
  /** A graceful request first (e.g. RPC `stop`); a throw skips to SIGTERM. */
  graceful?: () => Promise<unknown>;
  /** How long to wait for the exit after the graceful step. */
  gracefulMs?: number;
  /** Skip SIGTERM and send SIGKILL at once (bpftrace: the kernel detaches uprobes as fds close). */
  kill?: boolean;
  /** How long to wait after SIGTERM before SIGKILL. */
  termMs?: number;
  /** Resolve once the signal is sent, without waiting for the exit (the reaper still guards it). */
  awaitExit?: boolean;
}

export class ChildExitedError extends Error {
  constructor(
    readonly child: string,
    readonly exit: ExitInfo,
  ) {
    super(`${child} exited (${describeExit(exit)})`);
    this.name = 'ChildExitedError';
  }
}

export function describeExit(exit: ExitInfo): string {
  return exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code ?? 'unknown'}`;
}

export class ChildProcessHandle {
  readonly pid: number;
  readonly stderrTail = new OutputTail();
  /** Resolves when the process has exited and its output pipes are read to the end. */
  readonly exited: Promise<ExitInfo>;
  private exitInfo: ExitInfo | undefined;
  private readonly stopping: { promise?: Promise<void> } = {};

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    private readonly options: SpawnOptions,
  ) {
    this.pid = child.pid!;
    guardProcess(this.pid);
    this.exited = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        this.exitInfo = { code, signal };
        releaseProcess(this.pid);
        resolve(this.exitInfo);
      });
    });
    if (options.stderr !== 'inherit') {
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (chunk: string) => {
        this.stderrTail.push(chunk);
        options.onStderr?.(chunk);
      });
    }
    if (options.stdinLifeline) child.stdin?.on('error', () => undefined);
    if (options.unref) {
      child.unref();
      for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as { unref?: () => void } | null)?.unref?.();
    }
  }

  /**
   * Spawn `command` in its own process group. A spawn failure (ENOENT, EACCES) rejects with the
   * system's message; callers turn it into their own HarnessError.
   */
  static spawn(name: string, command: string, args: readonly string[], options: SpawnOptions = {}): Promise<ChildProcessHandle> {
    const stdio: StdioOptions = [options.stdinLifeline ? 'pipe' : 'ignore', options.stdout ?? 'ignore', options.stderr === 'inherit' ? 'inherit' : 'pipe'];
    const child = spawn(command, args, { detached: true, stdio, env: options.env ?? process.env });
    return new Promise((resolve, reject) => {
      child.once('error', (error) => reject(error));
      child.once('spawn', () => {
        child.removeAllListeners('error');
        child.on('error', () => undefined);
        resolve(new ChildProcessHandle(name, child, options));
      });
    });
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** The exit, once it happened. */
  get exit(): ExitInfo | undefined {
    return this.exitInfo;
  }

  get stdout(): Readable | null {
    return this.child.stdout;
  }

  /** stdout as lines (stdout must be 'pipe'). */
  lines(): AsyncIterable<string> & { close(): void; on(event: 'line', listener: (line: string) => void): unknown } {
    return createInterface({ input: this.child.stdout! });
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.running) return;
    signalGroup(this.pid, signal, { viaSudo: this.options.viaSudo ?? false });
  }

  /** True if the process exited within `ms`. */
  async waitForExit(ms: number): Promise<boolean> {
    if (!this.running) return true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    const exited = await Promise.race([this.exited.then(() => true as const), timedOut]);
    clearTimeout(timer);
    return exited;
  }

  /**
   * Resolves with `probe`'s value once the child is ready; rejects when the child exits first
   * (ChildExitedError), the timeout passes, or the signal aborts. Whatever fails, the caller decides
   * whether to stop the child (usually: yes, then explain with `stderrTail`).
   */
  async ready<T>(probe: (abort: AbortSignal) => Promise<T>, options: { timeoutMs: number; what: string; signal?: AbortSignal }): Promise<T> {
    const controller = new AbortController();
    const onAbort = () => controller.abort(options.signal!.reason);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        probe(controller.signal),
        this.exited.then((exit) => Promise.reject(new ChildExitedError(this.name, exit))),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new ReadyTimeoutError(`${this.name}: ${options.what} did not happen within ${options.timeoutMs} ms`)), options.timeoutMs);
        }),
        new Promise<never>((_, reject) => {
          if (options.signal?.aborted) reject(options.signal.reason);
          controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
        }),
      ]);
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (!controller.signal.aborted) controller.abort(new Error('readiness settled'));
    }
  }

  /** Stop by escalation (see StopPlan); concurrent calls share one stop. */
  stop(plan: StopPlan = {}): Promise<void> {
    this.stopping.promise ??= this.escalate(plan);
    return this.stopping.promise;
  }

  private async escalate(plan: StopPlan): Promise<void> {
    if (!this.running) return;
    if (plan.graceful && !plan.kill) {
      const asked = await plan.graceful().then(
        () => true,
        () => false,
      );
      if (asked && (await this.waitForExit(plan.gracefulMs ?? DEFAULT_TIMEOUTS.nodeStop))) return;
    }
    if (!plan.kill) {
      this.signal('SIGTERM');
      if (await this.waitForExit(plan.termMs ?? DEFAULT_TIMEOUTS.sigtermGrace)) return;
    }
    this.signal('SIGKILL');
    if (plan.awaitExit ?? true) await this.exited;
  }

  /**
   * Stop reading from the child and let our event loop end while it is still dying (its pipes
   * closed on our side, the handle unreferenced). The reaper keeps its pid until it has exited.
   */
  letGo(): void {
    this.child.stdout?.destroy();
    this.child.stderr?.destroy();
    this.child.unref();
  }

  /** Keep our event loop alive until the child exits (undoes letGo's unref). */
  hold(): void {
    this.child.ref();
  }

  /** SIGKILL now and wait for the exit. */
  async kill(): Promise<void> {
    this.signal('SIGKILL');
    await this.exited;
  }
}

export class ReadyTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReadyTimeoutError';
  }
}
