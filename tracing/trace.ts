/**
 * The trace store: every event a tracer delivers, in arrival order, plus the trace's own errors
 * (lost events, tracer died). Tests wait on it event-driven and query it per connection.
 */
import { HarnessError } from '../harness/common/errors.js';
import { budget, makeTiming, scaled, type Timing } from '../harness/common/timing.js';
import { ConnectionIndex, describeConnections, type ConnectionView, type Occurrence } from './connections.js';
import { isMessageEvent, type MessageEvent, type TraceEvent } from './events.js';
import { describeMessageFilter, matchesMessage, validateMessageFilter, type MessageFilter } from './message-filter.js';
import { eventsToNDJSON } from './ndjson.js';
import type { EventSink } from './tracer.js';

export interface TraceOptions {
  /**
   * Downgrade TRACE_EVENTS_LOST to a warning (for load tests that expect bpftrace to drop).
   * The loss is still recorded in `warnings`, reported through `onWarning` and shown in diffs.
   */
  allowLoss?: boolean;
  /** Where downgraded errors are reported; defaults to console.warn of the full error text. */
  onWarning?: (warning: HarnessError) => void;
  /**
   * The network's timing context: every wait inherits its abort signal (Ctrl-C ends it at once)
   * and its timeout factor (harness/common/timing.ts). Default: no signal, the environment's factor.
   */
  timing?: Timing;
}

export interface WaitOptions {
  /** Deadline for the wait (not a speed assertion), multiplied by the timeout factor. Default: the 'event' budget (30 s). */
  timeoutMs?: number;
  /** Aborting rejects the wait with the signal's reason (in addition to the trace's own signal). */
  signal?: AbortSignal;
  /** What is awaited, in words: "node 0 to receive 'verack' from node 1". Used in the timeout error. */
  description?: string;
  /** Evidence for the timeout error; defaults to what every connection exchanged so far. */
  observed?: () => string;
}

export type TraceListener = (event: TraceEvent) => void;

interface PendingWait {
  abandon(error: HarnessError): void;
}

export class Trace implements EventSink {
  readonly #events: TraceEvent[] = [];
  readonly #errors: HarnessError[] = [];
  readonly #warnings: HarnessError[] = [];
  readonly #listeners = new Set<TraceListener>();
  readonly #pending = new Set<PendingWait>();
  readonly #connections = new ConnectionIndex();
  readonly #allowLoss: boolean;
  readonly #onWarning: (warning: HarnessError) => void;
  readonly #timing: Timing;

  constructor(options: TraceOptions = {}) {
    this.#allowLoss = options.allowLoss ?? false;
    this.#timing = options.timing ?? makeTiming();
    this.#onWarning = options.onWarning ?? ((warning) => console.warn(warning.toString()));
  }

  /** Every event, in arrival order. */
  get events(): readonly TraceEvent[] {
    return this.#events;
  }

  /** Trace errors (lost events unless allowLoss, tracer died): each one fails the test. */
  get errors(): readonly HarnessError[] {
    return this.#errors;
  }

  /** Errors downgraded by allowLoss: reported, not failing. */
  get warnings(): readonly HarnessError[] {
    return this.#warnings;
  }

  push(event: TraceEvent): void {
    const arrival = this.#events.length;
    this.#events.push(event);
    if (isMessageEvent(event)) this.#connections.add(event, arrival);
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch (error) {
        // A broken listener must not stop delivery to the others (or to the tracer's reader);
        // rethrown outside push, it still surfaces as an uncaught error that fails the run.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  fail(error: HarnessError): void {
    if (this.#allowLoss && error.code === 'TRACE_EVENTS_LOST') {
      this.#warnings.push(error);
      this.#onWarning(error);
      return;
    }
    this.#errors.push(error);
    // The awaited event may never come now; fail fast with the real cause instead of a timeout.
    for (const wait of [...this.#pending]) wait.abandon(error);
  }

  /** Throws the first trace error, if any. */
  assertHealthy(): void {
    const first = this.#errors[0];
    if (first) throw first;
  }

  /** Calls `listener` for every later event; returns the unsubscribe function. */
  subscribe(listener: TraceListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /**
   * Resolves with the first event (in arrival order) matching `predicate`: from history if one
   * is already there, else on the push that delivers it — no polling. Rejects on timeout
   * (TIMEOUT, naming the description and showing what was observed), on abort, or when a trace
   * error arrives before the event (the error itself).
   */
  waitFor<E extends TraceEvent>(predicate: (event: TraceEvent) => event is E, options?: WaitOptions): Promise<E>;
  waitFor(predicate: (event: TraceEvent) => boolean, options?: WaitOptions): Promise<TraceEvent>;
  waitFor(predicate: (event: TraceEvent) => boolean, options: WaitOptions = {}): Promise<TraceEvent> {
    if (options.timeoutMs !== undefined && (!Number.isFinite(options.timeoutMs) || options.timeoutMs < 0)) {
      return Promise.reject(
        new HarnessError('BAD_OPTION', `waitFor timeoutMs ${options.timeoutMs} is not a non-negative number`, {
          fix: 'Pass timeoutMs in milliseconds, e.g. { timeoutMs: 10_000 }',
        }),
      );
    }
    const timeoutMs = options.timeoutMs === undefined ? budget(this.#timing, 'event') : scaled(this.#timing, options.timeoutMs);
    const signals = [options.signal, this.#timing.signal].filter((s): s is AbortSignal => s !== undefined);
    const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
    if (signal?.aborted) return Promise.reject(signal.reason);
    try {
      const hit = this.#events.find(predicate);
      if (hit) return Promise.resolve(hit);
    } catch (error) {
      return Promise.reject(error);
    }
    const broken = this.#errors[0];
    if (broken) return Promise.reject(broken);

    return new Promise<TraceEvent>((resolve, reject) => {
      const settle = (outcome: () => void) => {
        clearTimeout(timer);
        unsubscribe();
        signal?.removeEventListener('abort', onAbort);
        this.#pending.delete(pending);
        outcome();
      };
      const unsubscribe = this.subscribe((event) => {
        let matched: boolean;
        try {
          matched = predicate(event);
        } catch (error) {
          settle(() => reject(error));
          return;
        }
        if (matched) settle(() => resolve(event));
      });
      const timer = setTimeout(() => settle(() => reject(this.#timeoutError(timeoutMs, options))), timeoutMs);
      const onAbort = () => settle(() => reject(signal?.reason));
      signal?.addEventListener('abort', onAbort, { once: true });
      const pending: PendingWait = { abandon: (error) => settle(() => reject(error)) };
      this.#pending.add(pending);
    });
  }

  /** waitFor the first message event matching `filter`; the timeout shows that node's connections. */
  waitForMessage(filter: MessageFilter, options: WaitOptions = {}): Promise<MessageEvent> {
    validateMessageFilter(filter);
    const involved = (view: ConnectionView) =>
      (filter.node === undefined || view.from === filter.node || view.to === filter.node) &&
      (filter.peer_node == null || view.from === filter.peer_node || view.to === filter.peer_node);
    return this.waitFor((event): event is MessageEvent => matchesMessage(event, filter), {
      ...options,
      description: options.description ?? describeMessageFilter(filter),
      observed: options.observed ?? (() => describeConnections(this.connections().filter(involved))),
    });
  }

  /** Message events matching `filter`, in arrival order. */
  messages(filter: MessageFilter = {}): MessageEvent[] {
    validateMessageFilter(filter);
    return this.#events.filter((event): event is MessageEvent => matchesMessage(event, filter));
  }

  /**
   * A snapshot of the connection node `from` dialled to node `to`: the first one by default,
   * or the occurrence-th (1-based) / 'last' when the pair reconnected. Sides not traced yet are empty.
   */
  /**
   * A node's process (re)started at `tUs` (trace time): a restarted bitcoind numbers its peers from
   * 0 again, so its later events start new connections. The network calls this at every spawn.
   */
  markIncarnation(node: number, tUs: number): void {
    this.#connections.markIncarnation(node, tUs);
  }

  connection(from: number, to: number, options: { occurrence?: Occurrence } = {}): ConnectionView {
    const occurrence = options.occurrence ?? 1;
    const snapshot = () => this.#connections.connection(from, to, occurrence, this.#notes());
    const first = snapshot(); // validates the pair and occurrence now, where the caller made the mistake
    // Live: every read sees the trace as it is now, so a view taken before an action shows what
    // the action caused (a snapshot would silently assert on stale events).
    return {
      from: first.from,
      to: first.to,
      get occurrence() { return snapshot().occurrence; },
      get dialer() { return snapshot().dialer; },
      get listener() { return snapshot().listener; },
      get label() { return snapshot().label; },
      get notes() { return snapshot().notes; },
      side: (role) => snapshot().side(role),
    };
  }

  /** Every connection between harness nodes with at least one traced message. */
  connections(): ConnectionView[] {
    return this.#connections.connections(this.#notes());
  }

  /** The events as they are (JSON.stringify(trace) gives the event array). */
  toJSON(): TraceEvent[] {
    return [...this.#events];
  }

  /** One event per line, for the CLI's --json. */
  toNDJSON(): string {
    return eventsToNDJSON(this.#events);
  }

  #notes(): string[] {
    return [
      ...this.#errors.map((e) => `trace error [${e.code}]: ${e.message}`),
      ...this.#warnings.map((e) => `warning [${e.code}]: ${e.message} (allowed by allowLoss; sequences may have gaps)`),
    ];
  }

  #timeoutError(timeoutMs: number, options: WaitOptions): HarnessError {
    const description = options.description ?? 'a matching trace event';
    const observed = options.observed ? options.observed() : describeConnections(this.connections());
    const notes = this.#notes();
    const evidence = [
      `${this.#events.length} events traced so far.`,
      observed,
      ...(notes.length > 0 ? ['', ...notes] : []),
    ].join('\n');
    return new HarnessError('TIMEOUT', `Timed out after ${timeoutMs} ms waiting for ${description}`, {
      fix: 'Check that the nodes were connected and that the tracer covers both of them; if the machine is only slow, set REGTEST_HARNESS_TIMEOUT_FACTOR (e.g. 3)',
      evidence,
    });
  }
}
