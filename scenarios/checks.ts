/** Small checks the scenarios share, on top of tracing/checks/sequence-checks.ts. */
import { versionAtLeast } from '../harness/common/version.js';
import type { Network } from '../harness/network.js';
import type { Edge } from '../harness/topology.js';
import { checkNeverSends } from '../tracing/checks/sequence-checks.js';
import type { ConnectionView, Role } from '../tracing/connections.js';
import type { Trace } from '../tracing/trace.js';
import type { CheckResult } from './types.js';

/** The side never sent `msgType`; fails on a side whose sends were never traced (tracing/checks/sequence-checks.ts). */
export { checkNeverSends };

/** The side received at least one of `msgTypes`. */
export function checkReceivesOneOf(view: ConnectionView, role: Role, msgTypes: readonly string[]): CheckResult {
  const side = view.side(role);
  const got = side.received().filter((t) => msgTypes.includes(t));
  return {
    pass: got.length > 0,
    claim: `${side.label} receives ${msgTypes.map((t) => `'${t}'`).join(' or ')} on ${view.label}`,
    finding: got.length > 0 ? `it received ${got.map((t) => `'${t}'`).join(', ')}` : `it received only: ${side.received().join(', ') || '(nothing)'}`,
    report: '',
  };
}

/** Which side of the edge a node is. */
export function roleOf(edge: Edge, node: number): Role {
  return edge.from === node ? 'dialer' : 'listener';
}

/** The edge joining two nodes (either direction), or undefined. */
export function edgeBetween(edges: readonly Edge[], a: number, b: number): Edge | undefined {
  return edges.find((e) => (e.from === a && e.to === b) || (e.from === b && e.to === a));
}

/**
 * Whether the trace will hold net:closed_connection / net:misbehaving_connection events: the log
 * tracer reads them from debug.log on any version; USDT has those tracepoints since v29.
 */
export function tracesConnectionEvents(network: Network): boolean {
  return network.tracer?.source === 'log' || versionAtLeast(network.binary, '29.0');
}

/** Resolves once both sides of this connection have received a `pong`: their first SendMessages pass after verack is done. */
export async function settleConnection(trace: Trace, view: ConnectionView): Promise<void> {
  await Promise.all(
    [view.dialer, view.listener].map((side) =>
      trace.waitForMessage({ node: side.node, ...(side.peerId === undefined ? { peer_node: side.peerNode } : { peer_id: side.peerId }), direction: 'in', msg_type: 'pong' }),
    ),
  );
}
