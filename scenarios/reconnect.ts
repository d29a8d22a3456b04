/**
 * Disconnect and reconnect one edge: the second connection (new peer ids on both nodes) repeats
 * the whole handshake, and the first connection's messages stop where its socket was closed.
 */
import { HarnessError } from '../harness/common/errors.js';
import type { TraceEvent } from '../tracing/events.js';
import type { ConnectionSide } from '../tracing/connections.js';
import { settleConnection, tracesConnectionEvents } from './checks.js';
import { handshakeChecks, settleHandshake } from './handshake.js';
import { stateCheck, type CheckResult, type Scenario, type ScenarioContext } from './types.js';

function closedEvent(events: readonly TraceEvent[], side: ConnectionSide): TraceEvent | undefined {
  return events.find((e) => e.tracepoint === 'net:closed_connection' && e.node === side.node && e.args.peer_id === side.peerId);
}

/** One side of the first connection: nothing traced after its close (or, without close events, after the second connection began on that node). */
function stopsAtClose(context: ScenarioContext, first: ConnectionSide, second: ConnectionSide): CheckResult {
  const closed = closedEvent(context.trace.events, first);
  const boundary = closed?.t ?? second.events[0]?.t;
  const what = closed ? "its socket was closed (net:closed_connection)" : 'the second connection began on that node';
  const late = boundary === undefined ? [] : first.events.filter((e) => e.t > boundary);
  const claim = `${first.label} traces nothing on the first connection (peer_id ${first.peerId}) after ${what}`;
  if (boundary === undefined) return stateCheck(false, claim, 'neither a close event nor the second connection was traced');
  return stateCheck(late.length === 0, claim, late.length === 0 ? `its last message was at t=${first.events.at(-1)?.t ?? '?'} µs, the close at ${boundary} µs` : `after it: ${late.map((e) => e.args.msg_type).join(', ')}`);
}

export const reconnect: Scenario = {
  name: 'reconnect',
  summary: 'disconnect and dial again: the new connection repeats the full handshake with new peer ids; the old one ends at its close',
  minNodes: 2,
  defaults: { nodes: 2, topology: '1>0' },
  act: async (context) => {
    const { network, trace } = context;
    const edge = context.edges[0];
    if (!edge) throw new HarnessError('BAD_TOPOLOGY', 'reconnect needs at least one connection', { fix: 'run reconnect with its default topology (1>0)' });
    await settleHandshake(context, edge);
    const first = trace.connection(edge.from, edge.to, { occurrence: 1 });
    await network.disconnect(edge);
    if (tracesConnectionEvents(network)) {
      await Promise.all(
        [first.dialer, first.listener].map((side) =>
          trace.waitFor((e) => closedEvent([e], side) !== undefined, { description: `node${side.node} to close the first connection (peer_id ${side.peerId})` }),
        ),
      );
    }
    await network.reconnect(edge);
    await settleConnection(trace, trace.connection(edge.from, edge.to, { occurrence: 2 }));
  },
  expectations: async (context) => {
    const edge = context.edges[0];
    if (!edge) return [];
    const first = context.trace.connection(edge.from, edge.to, { occurrence: 1 });
    const second = context.trace.connection(edge.from, edge.to, { occurrence: 2 });
    const ids = (view: typeof first) => `dialer ${view.dialer.peerId ?? '—'}, listener ${view.listener.peerId ?? '—'}`;
    const freshIds = second.dialer.peerId !== undefined && second.listener.peerId !== undefined && second.dialer.peerId !== first.dialer.peerId && second.listener.peerId !== first.listener.peerId;
    const dialer = context.network.node(edge.from);
    const listenerAddress = context.network.node(edge.to).p2pAddress;
    const links = (await dialer.rpc.call('getpeerinfo')).filter((p) => !p.inbound && p.addr === listenerAddress);
    return [
      ...handshakeChecks(context, edge, 2),
      stateCheck(freshIds, `the second connection has new peer ids on both nodes`, `first: ${ids(first)}; second: ${ids(second)}`),
      stopsAtClose(context, first.dialer, second.dialer),
      stopsAtClose(context, first.listener, second.listener),
      stateCheck(links.length === 1, `node${edge.from} has exactly one connection to node${edge.to} afterwards (getpeerinfo)`, `it lists ${links.length}${links.length ? ` (peer ids ${links.map((p) => p.id).join(', ')})` : ''}`),
    ];
  },
};

