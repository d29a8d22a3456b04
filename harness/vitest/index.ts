/**
 * `regtest-harness/vitest`: a `test` with a `regtest` fixture (networks disposed after the test,
 * a failure bundle when it fails) and matchers for traced P2P sequences.
 */
export { installTraceMatchers, traceMatchers, type TraceMatchers } from './matchers.js';
export type { CheckResult, Window } from '../../tracing/checks/sequence-checks.js';
export {
  checkSends,
  checkSendsBetween,
  checkSendsFirst,
  checkSendsInOrder,
  checkSendsOnlyAfterReceived,
  checkStartsWith,
} from '../../tracing/checks/sequence-checks.js';
export { renderNodeTimeline, renderSentSideBySide, renderTable } from '../../tracing/checks/diff.js';
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

export { test, expect, type RegtestFixture, type RegtestNetworkOptions } from './fixture.js';
export { failureBundle, writeFailureBundle, failureDir } from './failure-bundle.js';
