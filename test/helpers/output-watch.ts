import type { Readable } from 'node:stream';

/**
 * Everything a child process printed on one stream, and a wait that resolves on the data event
 * that makes the text match (no polling); it rejects with what was printed if the stream ends first
 * or `timeoutMs` passes.
 */
export class OutputWatch {
  text = '';
  private ended = false;
  private readonly waiters = new Set<() => void>();

  constructor(stream: Readable | null | undefined) {
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      this.text += chunk;
      for (const wake of this.waiters) wake();
    });
    stream?.on('close', () => {
      this.ended = true;
      for (const wake of this.waiters) wake();
    });
  }

  until(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(this.text);
        if (match) finish(() => resolve(match));
        else if (this.ended) finish(() => reject(new Error(`the stream ended without ${pattern}; it printed:\n${this.text}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms; printed so far:\n${this.text}`))), timeoutMs);
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        settle();
      };
      this.waiters.add(check);
      check();
    });
  }
}
