/**
 * A test peer's own view as trace events (source 'peer'), on its lane (tracing/peer-lanes.ts):
 * what it sent is net:outbound_message, what it received net:inbound_message, its connection
 * opening net:outbound_connection (it dialled) or net:inbound_connection (a node dialled it), and
 * the end net:closed_connection. Its peer_conn_type is the peer's own view: 'outbound' when it
 * dialled, 'inbound' when it was dialled — so Trace.connection() finds dialer and listener as it
 * does between two nodes.
 */
import type { TraceEvent } from '../../tracing/events.js';
import type { P2PPeer, PeerClose, PeerTraffic } from './peer.js';

/** As the usdt tracer captures (tracing/bpftrace/program.ts): the first 200 payload bytes. */
const CAPTURED_PAYLOAD_BYTES = 200;

export interface PeerLaneContext {
  /** The peer's lane (trace-node index). */
  lane: number;
  /** The harness node on the other end. */
  node: number;
  /** The k-th connection of this lane: the peer_id of its events. */
  connection: number;
  startedAtNs: bigint;
}

function base(ctx: PeerLaneContext, atNs: bigint) {
  return { t: Number(atNs - ctx.startedAtNs) / 1000, node: ctx.lane, peer_node: ctx.node, source: 'peer' as const };
}

function peerArgs(ctx: PeerLaneContext, peer: P2PPeer) {
  return { peer_id: ctx.connection, peer_addr: peer.remoteAddress, peer_conn_type: peer.role === 'dialer' ? 'outbound' : 'inbound' };
}

export function trafficEvent(ctx: PeerLaneContext, peer: P2PPeer, traffic: PeerTraffic): TraceEvent {
  const captured = traffic.payload.subarray(0, CAPTURED_PAYLOAD_BYTES);
  return {
    ...base(ctx, traffic.atNs),
    tracepoint: traffic.direction === 'out' ? 'net:outbound_message' : 'net:inbound_message',
    args: {
      ...peerArgs(ctx, peer),
      msg_type: traffic.command,
      msg_size: traffic.size,
      msg: captured.toString('hex'),
      msg_captured: captured.length,
      ...(traffic.raw ? { raw: true } : {}),
    },
  };
}

export function openedEvent(ctx: PeerLaneContext, peer: P2PPeer, atNs: bigint): TraceEvent {
  return {
    ...base(ctx, atNs),
    tracepoint: peer.role === 'dialer' ? 'net:outbound_connection' : 'net:inbound_connection',
    args: { ...peerArgs(ctx, peer), peer_network: 0, existing_connections: 1 },
  };
}

export function closedEvent(ctx: PeerLaneContext, peer: P2PPeer, close: PeerClose, establishedAt: number): TraceEvent {
  return {
    ...base(ctx, close.atNs),
    tracepoint: 'net:closed_connection',
    args: { ...peerArgs(ctx, peer), peer_network: 0, time_established: establishedAt },
  };
}
