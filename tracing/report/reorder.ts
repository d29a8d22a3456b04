import type { TraceEvent } from '../events.js';

/**
 * A live timeline in time order. Tracers deliver per node (two debug.logs are read by two
 * followers; bpftrace has per-CPU buffers), so events of different nodes arrive slightly out of
 * order. Each event is held for `holdMs` after it arrives and released in `t` order: a short delay
 * buys a timeline that reads top to bottom.
 */
export class ReorderBuffer {
  private readonly held: { event: TraceEvent; arrivedAt: number }[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly emit: (event: TraceEvent) => void,
    private readonly holdMs = 150,
  ) {}

  push(event: TraceEvent): void {
    let i = this.held.length;
    while (i > 0 && this.held[i - 1]!.event.t > event.t) i--;
    this.held.splice(i, 0, { event, arrivedAt: Date.now() });
    this.timer ??= setInterval(() => this.release(Date.now() - this.holdMs), Math.max(10, this.holdMs / 3));
  }

  /** Release, in `t` order, every event from the front that has been held long enough. */
  private release(arrivedBefore: number): void {
    while (this.held.length > 0 && this.held[0]!.arrivedAt <= arrivedBefore) this.emit(this.held.shift()!.event);
    if (this.held.length === 0) this.stop();
  }

  /** Emit everything still held (end of run). */
  flush(): void {
    this.release(Number.POSITIVE_INFINITY);
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
