import type { HarnessError } from '../../harness/common/errors.js';
import type { TraceEvent } from '../../tracing/events.js';
import type { EventSink } from '../../tracing/tracer.js';

/** An EventSink that keeps what it is given, for tracer tests. */
export class ListSink implements EventSink {
  events: TraceEvent[] = [];
  errors: HarnessError[] = [];
  push(event: TraceEvent): void {
    this.events.push(event);
  }
  fail(error: HarnessError): void {
    this.errors.push(error);
  }
  /** Resolves once `done()` holds (checked every 25 ms: events come from another process). */
  async until(done: () => boolean, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`timed out with ${this.events.length} events, ${this.errors.length} errors`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}
