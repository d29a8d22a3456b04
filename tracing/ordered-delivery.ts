/**
 * Events of one node, delivered in the order they happened although each may wait on its own
 * asynchronous peer lookup (an RPC): an event is handed on only after every earlier one was.
 * Both tracers (bpftrace/usdt-tracer.ts per node, log-tracer.ts per debug.log) deliver through it.
 */
export class OrderedDelivery<T> {
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly deliver: (item: T) => void,
    private readonly failed: (error: unknown) => void,
  ) {}

  /** Queue an item that is ready, or will be; it is delivered after everything queued before it. */
  push(item: T | Promise<T>): void {
    const settled = Promise.resolve(item);
    // Handled now: a lookup that fails while an earlier one is still pending must not surface as
    // an unhandled rejection; its failure is reported when its turn comes.
    settled.catch(() => undefined);
    this.tail = this.tail.then(() => settled).then(this.deliver, this.failed);
  }

  /** Resolves once everything queued so far was delivered (or failed). */
  idle(): Promise<void> {
    return this.tail;
  }
}
