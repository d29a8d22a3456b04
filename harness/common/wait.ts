import { HarnessError } from './errors.js';
import { delay } from './timing.js';

export interface WaitUntilOptions {
  timeoutMs: number;
  description: string;
  signal?: AbortSignal;
  /** First and largest delay between checks (backs off from the first to the largest). */
  minDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Check `condition` until it holds, backing off from a short first delay. For states only RPC can
 * tell (mempool contents, peer lists); where an event exists (a traced message), wait on it instead.
 */
export async function waitUntil(condition: () => Promise<boolean> | boolean, options: WaitUntilOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let pause = options.minDelayMs ?? 10;
  const maxDelay = options.maxDelayMs ?? 250;
  for (;;) {
    if (options.signal?.aborted) throw options.signal.reason;
    if (await condition()) return;
    if (Date.now() >= deadline) {
      throw new HarnessError('TIMEOUT', `timed out after ${options.timeoutMs} ms waiting for ${options.description}`, {
        fix: 'check the nodes\' debug.log tails (failure bundle) for why it never happened, or raise the timeout on a slow machine',
      });
    }
    // Abortable: a Ctrl-C ends the pause at once instead of after it.
    await delay(Math.min(pause, Math.max(0, deadline - Date.now())), options.signal);
    pause = Math.min(maxDelay, pause * 1.5);
  }
}
