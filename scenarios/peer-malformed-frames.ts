/**
 * Malformed v1 frames from a TypeScript peer, and node 0's documented reactions (V1Transport in
 * Core's net.cpp, checked on v24.2, v27.2, v28.1, v29.0rc3 and Knots 29; Core's own
 * test/functional/p2p_invalid_messages.py expects the same):
 * - a frame whose checksum does not match its payload is dropped ("Header error: Wrong checksum"
 *   in debug.log) and the connection stays: the node never processes it, and answers the next ping;
 * - a header declaring more than MAX_PROTOCOL_MESSAGE_LENGTH (4,000,000 bytes) gets the peer
 *   disconnected at once ("Header error: Size too large").
 * The trace shows both: the peer's lane holds the raw frames (args.raw), the node's side lacks the
 * dropped one, and the close appears on the peer's lane (every version) and on the node's
 * (net:closed_connection: log tracer, or USDT on v29+).
 */
import { encodeFrame, MAX_PROTOCOL_MESSAGE_LENGTH } from '../harness/p2p/framing.js';
import type { NetworkPeer } from '../harness/p2p/network-peers.js';
import type { PeerClose } from '../harness/p2p/peer.js';
import { tracesConnectionEvents } from './checks.js';
import { checkTracedViewMatchesPeer } from './peer-checks.js';
import { stateCheck, type CheckResult, type Scenario } from './types.js';

const NODE = 0;
const OVERSIZED = MAX_PROTOCOL_MESSAGE_LENGTH + 1;

interface Run {
  entry: NetworkPeer;
  peerId: number;
  /** The peer was still connected and got its pong after the bad-checksum frame. */
  aliveAfterBadChecksum: boolean;
  close?: PeerClose;
}

export const peerMalformedFrames: Scenario<Run> = {
  name: 'peer-malformed-frames',
  summary: 'a TypeScript peer sends a frame with a bad checksum (dropped, connection kept), then one declaring 4,000,001 bytes (disconnected)',
  minNodes: 1,
  defaults: { nodes: 1, topology: 'none' },
  networkOptions: () => ({ fastRelay: false }),
  act: async (context) => {
    const { network, trace } = context;
    const entry = await network.addPeer({ to: NODE });
    const { peer } = entry;
    await peer.syncWithPing();
    const info = (await network.node(NODE).rpc.call('getpeerinfo')).find((p) => p.addr === peer.localAddress);
    const run: Run = { entry, peerId: info?.id ?? -1, aliveAfterBadChecksum: false };
    peer.sendRaw(encodeFrame('ping', Buffer.alloc(8, 1), { checksum: Buffer.from('ffffffff', 'hex') }));
    await peer.syncWithPing(); // processed in order: the bad frame came before this ping
    run.aliveAfterBadChecksum = !peer.isClosed;
    peer.sendRaw(encodeFrame('badmsg', Buffer.alloc(0), { length: OVERSIZED }));
    run.close = await peer.waitForClose({ description: `node${NODE} to disconnect ${entry.name} after a header declaring ${OVERSIZED} bytes` });
    if (tracesConnectionEvents(network)) {
      await trace.waitFor((e) => e.node === NODE && e.tracepoint === 'net:closed_connection' && e.args.peer_id === run.peerId, { description: `node${NODE} to trace closing ${entry.name}` });
    }
    return run;
  },
  expectations: async (context, run) => {
    if (!run) return [];
    const { trace, network } = context;
    const view = trace.connection(run.entry.lane, NODE);
    const raw = view.dialer.sentEvents().filter((e) => e.args.raw);
    const nodeTypes = view.listener.received();
    const peers = await network.node(NODE).rpc.call('getpeerinfo');
    const peerClosed = trace.events.find((e) => e.node === run.entry.lane && e.tracepoint === 'net:closed_connection');
    const checks: CheckResult[] = [
      stateCheck(raw.map((e) => e.args.msg_type).join(',') === 'ping,badmsg', `${run.entry.name}'s lane traces both raw frames (args.raw)`, raw.map((e) => `${e.args.msg_type} (${e.args.msg_size} B)`).join(', ') || 'none'),
      // Without the bad-checksum ping dropped, the node's side would hold one ping more than the peer's valid sends.
      ...checkTracedViewMatchesPeer(view, 'listener'),
      stateCheck(run.aliveAfterBadChecksum, `node${NODE} keeps the connection after the bad checksum (it answers the next ping)`, run.aliveAfterBadChecksum ? 'pong received, still connected' : 'the connection was closed'),
      stateCheck(!nodeTypes.includes('badmsg'), `node${NODE} never processes the oversized 'badmsg'`, `it processed: ${nodeTypes.join(', ')}`),
      stateCheck(run.close?.by === 'remote', `node${NODE} closes the connection after the header declaring ${OVERSIZED} bytes`, run.close ? `${run.close.by}: ${run.close.detail}` : 'still open'),
      stateCheck(!peers.some((p) => p.id === run.peerId), `node${NODE} no longer lists peer ${run.peerId} (getpeerinfo)`, `it lists ${peers.length} peer(s)`),
      stateCheck(peerClosed !== undefined, `the close shows on ${run.entry.name}'s lane (net:closed_connection, source peer)`, peerClosed ? `at t=${peerClosed.t} µs` : 'not traced'),
    ];
    if (tracesConnectionEvents(network)) {
      const closed = trace.events.find((e) => e.node === NODE && e.tracepoint === 'net:closed_connection' && e.args.peer_id === run.peerId);
      const lastIn = view.listener.receivedEvents().at(-1);
      checks.push(
        stateCheck(
          closed !== undefined && closed.peer_node === run.entry.lane && lastIn !== undefined && closed.t >= lastIn.t,
          `node${NODE} traces closing ${run.entry.name} (net:closed_connection) after the last message it processed from it`,
          closed ? `closed at ${closed.t} µs (peer_node ${closed.peer_node}), last message ${lastIn?.args.msg_type ?? '—'} at ${lastIn?.t ?? '—'} µs` : 'no such event',
        ),
      );
    }
    return checks;
  },
};
