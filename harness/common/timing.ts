import { HarnessError } from './errors.js';

/**
 * One timing and cancellation context, as Core's functional framework scales every wait by
 * `--timeout-factor`: a network or a scenario takes `{ signal, timeoutFactor }` once and every
 * wait below it inherits both. The defaults live here and nowhere else; feature code names a
 * budget (`budget(timing, 'handshake')`) instead of writing a literal.
 */
export interface Timing {
  /** Aborted on Ctrl-C/SIGTERM (or by the caller): every wait ends at once with the abort reason. */
  signal?: AbortSignal;
  /** Multiplies every timeout (slow or loaded machines): 1 by default, or REGTEST_HARNESS_TIMEOUT_FACTOR. */
  timeoutFactor: number;
}

/** Unscaled budgets in milliseconds. */
export const DEFAULT_TIMEOUTS = {
  /** bitcoind answers RPC after spawn. */
  nodeReady: 60_000,
  /** RPC `stop` until the process has exited, before SIGTERM. */
  nodeStop: 15_000,
  /** SIGTERM until exit, before SIGKILL. */
  sigtermGrace: 5_000,
  /** One edge's handshake, both sides. */
  handshake: 30_000,
  /** A traced event or an RPC-visible state (mempool, peer list) that an action causes. */
  event: 30_000,
  /** Every node reaching a tip. */
  blockSync: 60_000,
  /** One RPC call: longer than any wait bitcoind itself is asked to do (blockSync's `waitforblock`). */
  rpcCall: 90_000,
  /** bpftrace compiles and attaches its probes. */
  tracerAttach: 30_000,
  /** bpftrace's flush records come back from every CPU (what the probes wrote is read). */
  traceFlush: 5_000,
  /** A short helper process (`-version`, `bpftrace --version`). */
  probeProcess: 10_000,
} as const;

export type TimeoutName = keyof typeof DEFAULT_TIMEOUTS;

export const TIMEOUT_FACTOR_ENV = 'REGTEST_HARNESS_TIMEOUT_FACTOR';

/** REGTEST_HARNESS_TIMEOUT_FACTOR (a positive number), else 1. A bad value is an error naming it. */
export function timeoutFactorFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[TIMEOUT_FACTOR_ENV];
  if (raw === undefined || raw === '') return 1;
  const factor = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw.trim()) || !(factor > 0) || factor > 1000) {
    throw new HarnessError('BAD_OPTION', `${TIMEOUT_FACTOR_ENV}=${raw} is not a timeout factor`, {
      fix: `set ${TIMEOUT_FACTOR_ENV} to a positive number such as 2 (every timeout is multiplied by it), or unset it`,
    });
  }
  return factor;
}

/** A context from optional parts: the factor defaults to the environment's. */
export function makeTiming(parts: { signal?: AbortSignal | undefined; timeoutFactor?: number | undefined } = {}): Timing {
  return { timeoutFactor: parts.timeoutFactor ?? timeoutFactorFromEnv(), ...(parts.signal ? { signal: parts.signal } : {}) };
}

/** The scaled budget in ms for one kind of wait. */
export function budget(timing: Timing, name: TimeoutName): number {
  return Math.round(DEFAULT_TIMEOUTS[name] * timing.timeoutFactor);
}

/** Scale an explicit millisecond value by the context's factor. */
export function scaled(timing: Timing, ms: number): number {
  return Math.round(ms * timing.timeoutFactor);
}

/** `{ signal }` when the context has one: spread into a wait's options. */
export function abortable(timing: Timing): { signal?: AbortSignal } {
  return timing.signal ? { signal: timing.signal } : {};
}

/** A pause that ends early, with the signal's reason, when the signal aborts. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * `work`, or the signal's abort, whichever comes first. Work that cannot itself be cancelled (an RPC
 * that blocks in bitcoind, such as `waitforblock`) must not hold a Ctrl-C: the caller gives up on
 * it and tears down what it was waiting on, which ends the work too (its late outcome is ignored).
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      work.catch(() => undefined);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
