/**
 * `regtest-harness/vitest`: matchers for traced P2P sequences (and, next to them, the
 * network fixture in ./fixture.ts once it lands).
 */
export { installTraceMatchers, traceMatchers, type TraceMatchers } from './matchers.js';
export type { CheckResult, Window } from './sequence-checks.js';
export {
  checkSends,
  checkSendsBetween,
  checkSendsFirst,
  checkSendsInOrder,
  checkSendsOnlyAfterReceived,
  checkStartsWith,
} from './sequence-checks.js';
export { renderNodeTimeline, renderSentSideBySide, renderTable } from './diff.js';
export { Trace, type TraceOptions, type WaitOptions } from '../../tracing/trace.js';
export {
  handshakeComplete,
  waitForHandshake,
  type ConnectionSide,
  type ConnectionView,
  type Occurrence,
  type Role,
  type SideSelector,
} from '../../tracing/connections.js';

// Fixture (test.extend with a network and its trace): export it here from './fixture.js'.
