/**
 * vitest matchers for traced P2P sequences, per connection and side:
 *
 *   const conn = trace.connection(1, 0);
 *   expect(conn).toSendFirst('dialer', 'version');
 *   expect(conn).toSendBetween('both', ['wtxidrelay', 'sendaddrv2'], { after: 'version', before: 'verack' });
 *   expect(conn).not.toSend('listener', 'getaddr');
 *
 * With side 'both' an expectation must hold on each side (`.not` then means "not on both").
 * A failure prints the claim, what was observed, and the connection's sequences side by side.
 */
import { expect, type MatcherState } from 'vitest';
import { HarnessError } from '../common/errors.js';
import { isConnectionView, sidesOf, type ConnectionView, type Role, type SideSelector } from '../../tracing/connections.js';
import type { Trace } from '../../tracing/trace.js';
import {
  checkNeverSends,
  checkSends,
  checkSendsBetween,
  checkSendsFirst,
  checkSendsInOrder,
  checkSendsOnlyAfterReceived,
  checkStartsWith,
  type CheckResult,
  type Window,
} from '../../tracing/checks/sequence-checks.js';

export interface TraceMatchers {
  /** The side's first sent message is `msgType`. */
  toSendFirst(side: SideSelector, msgType: string): void;
  /** The side's first sent messages are exactly `msgTypes` (an exact prefix). */
  toStartWith(side: SideSelector, msgTypes: readonly string[]): void;
  /** The side sent `msgTypes` in this order; other messages may interleave. */
  toSendInOrder(side: SideSelector, msgTypes: readonly string[]): void;
  /** The side sent each of `msgTypes` after its first `after` and before the next `before`. */
  toSendBetween(side: SideSelector, msgTypes: readonly string[], window: Window): void;
  /** Every `sentType` the side sent came after it received the first `receivedType` (node order). */
  toSendOnlyAfterReceived(side: SideSelector, sentType: string, receivedType: string): void;
  /** The side sent `msgType` at least once; `.not.toSend` = never. */
  toSend(side: SideSelector, msgType: string): void;
  /** On a Trace: no trace errors (lost events, tracer died). Warnings allowed by allowLoss don't count. */
  toHaveNoTraceErrors(): void;
}

declare module 'vitest' {
  // Merged into vitest's own Matchers, so its type parameter must be declared exactly as vitest does.
  interface Matchers<T = any> extends TraceMatchers {}
}

interface MatcherOutcome {
  pass: boolean;
  message: () => string;
}

type ConnectionCheck<A extends unknown[]> = (view: ConnectionView, role: Role, ...args: A) => CheckResult;

/**
 * `negated`, when given, is the rule `.not` means (e.g. "never sends"), so `.not` can fail for its
 * own reason (a side that was never traced) instead of passing as the plain negation would.
 */
function connectionMatcher<A extends unknown[]>(name: keyof TraceMatchers, check: ConnectionCheck<A>, negated?: ConnectionCheck<A>) {
  return function (this: MatcherState, received: unknown, side: SideSelector, ...args: A): MatcherOutcome {
    const view = requireConnection(name, received);
    if (this.isNot && negated) {
      const results = sidesOf(requireSide(name, side)).map((role) => ({ negative: negated(view, role, ...args), positive: check(view, role, ...args) }));
      const broken = results.filter((r) => !r.negative.pass);
      const call = `expect(connection ${view.label}).not.${name}(${[side, ...args].map(show).join(', ')})`;
      // A side that did it reads as before ("Expected NOT: …"); an untraced side says why it cannot hold.
      const why = (r: (typeof results)[number]) => (r.positive.pass ? explain(r.positive, true) : explain(r.negative, false));
      // vitest inverts `pass` under .not: "not held" is pass: true.
      return { pass: broken.length > 0, message: () => [call, ...broken.map(why)].join('\n\n') };
    }
    const results = sidesOf(requireSide(name, side)).map((role) => check(view, role, ...args));
    const pass = results.every((r) => r.pass);
    // For a failure show the sides that broke it; for a failed `.not`, the sides that held.
    const shown = results.filter((r) => r.pass === pass);
    const call = `expect(connection ${view.label}).${this.isNot ? 'not.' : ''}${name}(${[side, ...args].map(show).join(', ')})`;
    return { pass, message: () => [call, ...shown.map((r) => explain(r, this.isNot))].join('\n\n') };
  };
}

function explain(result: CheckResult, isNot: boolean): string {
  return [`Expected${isNot ? ' NOT' : ''}: ${result.claim}`, `Observed: ${result.finding}`, '', result.report].join('\n');
}

function show(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : JSON.stringify(value);
}

function toHaveNoTraceErrors(this: MatcherState, received: unknown): MatcherOutcome {
  const trace = requireTrace(received);
  const errors = trace.errors;
  const warnings = trace.warnings.map((w) => `  (allowed) ${w.toString()}`);
  return {
    pass: errors.length === 0,
    message: () =>
      errors.length === 0
        ? ['Expected the trace to have errors, but it has none.', ...warnings].join('\n')
        : [
            `Expected the trace to have no errors, but it has ${errors.length}:`,
            ...errors.map((e) => `  ${e.toString().replaceAll('\n', '\n  ')}`),
            ...warnings,
          ].join('\n'),
  };
}

/** The matcher implementations, for `expect.extend(traceMatchers)` where installTraceMatchers won't do. */
export const traceMatchers = {
  toSendFirst: connectionMatcher('toSendFirst', checkSendsFirst),
  toStartWith: connectionMatcher('toStartWith', checkStartsWith),
  toSendInOrder: connectionMatcher('toSendInOrder', checkSendsInOrder),
  toSendBetween: connectionMatcher('toSendBetween', checkSendsBetween),
  toSendOnlyAfterReceived: connectionMatcher('toSendOnlyAfterReceived', checkSendsOnlyAfterReceived),
  toSend: connectionMatcher('toSend', checkSends, checkNeverSends),
  toHaveNoTraceErrors,
};

/** Registers the trace matchers with vitest's `expect` (idempotent: extend replaces by name). */
export function installTraceMatchers(): void {
  expect.extend(traceMatchers);
}

function requireConnection(matcher: string, received: unknown): ConnectionView {
  if (isConnectionView(received)) return received;
  throw new HarnessError('BAD_OPTION', `${matcher} expects a connection, got ${describeValue(received)}`, {
    fix: 'Pass a connection view: expect(trace.connection(1, 0)).' + matcher + '(…)',
  });
}

function requireSide(matcher: string, side: unknown): SideSelector {
  if (side === 'dialer' || side === 'listener' || side === 'both') return side;
  throw new HarnessError('BAD_OPTION', `${matcher}: side ${show(side)} is not 'dialer', 'listener' or 'both'`, {
    fix: `Name the side first, e.g. ${matcher}('dialer', …): the dialer is the node that connected out`,
  });
}

function requireTrace(received: unknown): Trace {
  const candidate = received as Partial<Trace> | null;
  if (candidate && Array.isArray(candidate.errors) && Array.isArray(candidate.warnings)) return received as Trace;
  throw new HarnessError('BAD_OPTION', `toHaveNoTraceErrors expects a Trace, got ${describeValue(received)}`, {
    fix: 'Call it on the trace itself: expect(trace).toHaveNoTraceErrors()',
  });
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'object') return `an object with keys ${Object.keys(value).slice(0, 5).join(', ') || '(none)'}`;
  return typeof value;
}
