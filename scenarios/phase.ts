/**
 * Slices of a connection in time: "what each side exchanged after block 2 was mined". A scenario
 * that acts several times asserts each act on its own slice, so a rule can't be satisfied by a
 * message of an earlier act (the handshake's own getheaders/headers, say).
 */
import type { Network } from '../harness/network.js';
import type { ConnectionSide, ConnectionView } from '../tracing/connections.js';
import { direction, type MessageEvent } from '../tracing/events.js';

/** Now on the trace's clock (µs since the network started), for marking where an act begins. */
export function traceNowUs(network: Network): number {
  return Number((process.hrtime.bigint() - network.startedAtNs) / 1000n);
}

export interface PhaseBounds {
  /** Keep events at or after this trace time (µs). */
  sinceUs?: number;
  /** Keep events before this trace time (µs). */
  untilUs?: number;
  /** Keep only these message types. */
  types?: readonly string[];
  /** Appended to the connection's label in reports: "after block 2 was mined". */
  what: string;
}

/**
 * The same connection with each side cut to the bounds. Times compare within one node's side
 * (one clock per node), which is all the sequence checks ever do.
 */
export function phase(view: ConnectionView, bounds: PhaseBounds): ConnectionView {
  const keep = (e: MessageEvent) =>
    (bounds.sinceUs === undefined || e.t >= bounds.sinceUs) &&
    (bounds.untilUs === undefined || e.t < bounds.untilUs) &&
    (bounds.types === undefined || bounds.types.includes(e.args.msg_type));
  const dialer = cutSide(view.dialer, keep);
  const listener = cutSide(view.listener, keep);
  return { ...view, dialer, listener, label: `${view.label} ${bounds.what}`, side: (role) => (role === 'dialer' ? dialer : listener) };
}

function cutSide(side: ConnectionSide, keep: (e: MessageEvent) => boolean): ConnectionSide {
  const events = side.events.filter(keep);
  const inDirection = (dir: 'in' | 'out') => events.filter((e) => direction(e) === dir);
  return {
    ...side,
    whole: side.whole ?? side,
    events,
    sent: () => inDirection('out').map((e) => e.args.msg_type),
    received: () => inDirection('in').map((e) => e.args.msg_type),
    sentEvents: () => inDirection('out'),
    receivedEvents: () => inDirection('in'),
  };
}
