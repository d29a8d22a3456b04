import { describeFailures, runScenario, type RunScenarioOptions, type ScenarioResult } from '../../scenarios/runner.js';
import type { Scenario } from '../../scenarios/types.js';
import type { MessageEvent, TraceEvent } from '../../tracing/events.js';
import { isMessageEvent } from '../../tracing/events.js';
import { testBinary } from './bitcoind.js';

/** A scenario on the test binary with the debug.log tracer (works without root or USDT probes). */
export async function runWithLogTracer(scenario: Scenario, options: RunScenarioOptions = {}): Promise<ScenarioResult> {
  return runScenario(scenario, { tracer: 'log', bitcoind: await testBinary(), ...options });
}

/** What a failed run prints: the failing checks with their tables, then the nodes' log tails. */
export function failureReport(result: ScenarioResult): string {
  return `${describeFailures(result)}\n${result.failureBundle ?? ''}`;
}

/** Message types one node sent to (`out`) or received from (`in`) another, in trace order. */
export function messageTypes(events: readonly TraceEvent[], node: number, peerNode: number, dir: 'in' | 'out'): string[] {
  const tracepoint = dir === 'in' ? 'net:inbound_message' : 'net:outbound_message';
  return events
    .filter((e): e is MessageEvent => isMessageEvent(e) && e.tracepoint === tracepoint && e.node === node && e.peer_node === peerNode)
    .map((e) => e.args.msg_type);
}
