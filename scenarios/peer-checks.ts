/**
 * Checks for connections between a node and a test peer (harness/p2p). Both ends are traced:
 * the node by its tracer, the peer by itself (source 'peer'), so a connection view has both sides
 * just as between two nodes.
 */
import { checkSendsBetween, checkSendsFirst, checkSendsOnlyAfterReceived, checkSends } from '../tracing/checks/sequence-checks.js';
import type { ConnectionSide, ConnectionView, Role } from '../tracing/connections.js';
import type { MessageEvent } from '../tracing/events.js';
import { isTestPeerLane } from '../tracing/peer-lanes.js';
import type { Trace } from '../tracing/trace.js';
import { checkNeverSends } from './checks.js';
import type { CheckResult } from './types.js';

/** The node's side of a node–peer connection is the one whose events a tracer (not the peer) wrote. */
export function nodeRole(view: ConnectionView): Role {
  return isTestPeerLane(view.dialer.node) ? 'listener' : 'dialer';
}

/**
 * The handshake rules of net_processing.cpp (docs/teaching-the-handshake.md), on a node–peer
 * connection. The peer side is held to the ordering rules every v1 peer follows (version first,
 * wtxidrelay and sendaddrv2 before verack); the node side also to Core's own habits (sendcmpct
 * after verack, getaddr to outbound full-relay peers only).
 */
export function peerHandshakeChecks(view: ConnectionView, node: Role, options: { nodeSendsGetaddr: boolean }): CheckResult[] {
  const both: Role[] = ['dialer', 'listener'];
  const checks = [
    checkSendsFirst(view, 'dialer', 'version'),
    checkSendsFirst(view, 'listener', 'version'),
    checkSendsOnlyAfterReceived(view, 'listener', 'version', 'version'),
    ...both.map((role) => checkSendsBetween(view, role, ['wtxidrelay', 'sendaddrv2'], { after: 'version', before: 'verack' })),
    checkSendsOnlyAfterReceived(view, node, 'sendcmpct', 'verack'),
  ];
  checks.push(
    options.nodeSendsGetaddr
      ? checkSends(view, node, 'getaddr')
      : checkNeverSends(view, node, 'getaddr', `${view.side(node).label} never sends 'getaddr' (addresses are asked of outbound full-relay peers only)`),
  );
  return checks;
}

type Shape = { type: string; size: number };
const shape = (e: MessageEvent): Shape => ({ type: e.args.msg_type, size: e.args.msg_size });
const text = (list: readonly Shape[]) => list.map((s) => `${s.type}(${s.size})`).join(', ') || '(nothing)';

/**
 * The node's traced view equals what the peer did, per direction and in order (types and sizes):
 * - what the node queued for the peer, up to its last `pong`, is what the peer received first;
 * - what the node processed from the peer, up to its last `ping`, is what the peer sent (raw frames aside).
 * Cut at ping/pong because later messages may still be in flight; sync with `peer.syncWithPing()` first.
 */
export function checkTracedViewMatchesPeer(view: ConnectionView, node: Role): CheckResult[] {
  const nodeSide = view.side(node);
  const peerSide = view.side(node === 'dialer' ? 'listener' : 'dialer');
  return [
    compare(`${nodeSide.label} sent, in order, the types and sizes ${peerSide.label} received (up to its last pong)`, nodeSide.sentEvents(), peerSide.receivedEvents(), 'pong'),
    compare(
      `${nodeSide.label} processed, in order, the types and sizes ${peerSide.label} sent (up to its last ping)`,
      nodeSide.receivedEvents(),
      peerSide.sentEvents().filter((e) => !e.args.raw),
      'ping',
    ),
  ];
}

function compare(claim: string, nodeEvents: readonly MessageEvent[], peerEvents: readonly MessageEvent[], cutAt: string): CheckResult {
  const cut = nodeEvents.map((e) => e.args.msg_type).lastIndexOf(cutAt);
  const expected = nodeEvents.slice(0, cut + 1).map(shape);
  const actual = peerEvents.slice(0, expected.length).map(shape);
  const same = cut >= 0 && expected.length === actual.length && expected.every((s, i) => s.type === actual[i]!.type && s.size === actual[i]!.size);
  return {
    pass: same,
    claim,
    finding: cut < 0 ? `the node traced no '${cutAt}' on this connection: nothing to compare up to` : same ? `${expected.length} messages match` : `they differ`,
    report: same ? '' : `node: ${text(expected)}\npeer: ${text(actual)}`,
  };
}

/** Resolves once `node` traced a message of `type` from/to the lane (e.g. the pong that settles a handshake). */
export function waitForNodeMessage(trace: Trace, node: number, lane: number, direction: 'in' | 'out', type: string): Promise<MessageEvent> {
  return trace.waitForMessage({ node, peer_node: lane, direction, msg_type: type });
}

/** The peer's own side of a connection view (the side that is not `node`). */
export function peerSideOf(view: ConnectionView, node: Role): ConnectionSide {
  return view.side(node === 'dialer' ? 'listener' : 'dialer');
}
