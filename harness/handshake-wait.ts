import { waitForHandshake as waitForTracedHandshake } from '../tracing/connections.js';
import type { Trace } from '../tracing/trace.js';
import { abortable, budget, DEFAULT_TIMEOUTS, type Timing } from './common/timing.js';
import { waitUntil } from './common/wait.js';
import type { BitcoinNode } from './node.js';
import { formatEdge, type Edge } from './topology.js';

/** What the handshake waits need of a network. */
export interface HandshakeScope {
  node(index: number): BitcoinNode;
  readonly trace: Trace;
  /** Whether a tracer feeds `trace` (then the wait is on traced events). */
  readonly traced: boolean;
  readonly timing: Timing;
}

/**
 * One edge's handshake, complete on both sides, the two ways there are:
 *  - traced: each side's `verack` arrives in the trace (event-driven, tracing/connections.ts);
 *  - untraced: getpeerinfo until each side has received a `pong`, which can only follow a completed
 *    handshake (what Core's functional framework waits for, test_framework/p2p.py's sync_with_ping).
 * `occurrence` picks the connection when the pair connected more than once (traced only).
 */
export async function waitForEdgeHandshake(scope: HandshakeScope, edge: Edge, occurrence: number | 'last' = 'last'): Promise<void> {
  if (scope.traced) {
    // The trace carries the same timing context: it scales this budget and honours the signal itself.
    await waitForTracedHandshake(scope.trace, edge.from, edge.to, { timeoutMs: DEFAULT_TIMEOUTS.handshake, occurrence });
    return;
  }
  await waitUntil(() => pongSeenBothWays(scope, edge), { timeoutMs: budget(scope.timing, 'handshake'), description: `handshake ${formatEdge(edge)}`, ...abortable(scope.timing) });
}

async function pongSeenBothWays(scope: HandshakeScope, edge: Edge): Promise<boolean> {
  const dialer = scope.node(edge.from);
  const listener = scope.node(edge.to);
  const outbound = (await dialer.rpc.call('getpeerinfo')).find((p) => !p.inbound && p.addr === listener.p2pAddress);
  if (!outbound?.bytesrecv_per_msg.pong || !outbound.addrbind) return false;
  const inbound = (await listener.rpc.call('getpeerinfo')).find((p) => p.inbound && p.addr === outbound.addrbind);
  return Boolean(inbound?.bytesrecv_per_msg.pong);
}

/** The dialer drops one edge (`disconnectnode`), then until it no longer lists the listener. */
export async function disconnectEdge(scope: HandshakeScope, edge: Edge): Promise<void> {
  const dialer = scope.node(edge.from);
  const listener = scope.node(edge.to);
  await dialer.rpc.call('disconnectnode', listener.p2pAddress);
  await waitUntil(async () => !(await dialer.rpc.call('getpeerinfo')).some((p) => !p.inbound && p.addr === listener.p2pAddress), {
    timeoutMs: budget(scope.timing, 'event'),
    description: `node${edge.from} to drop node${edge.to}`,
    ...abortable(scope.timing),
  });
}
