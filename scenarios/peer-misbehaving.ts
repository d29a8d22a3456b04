/**
 * A TypeScript peer dials node 0 and sends a `headers` message whose header has nBits = 0: no
 * proof of work can meet a zero target. Core punishes that on every version the harness runs
 * (v24–v27: Misbehaving score 100 = disconnect; v28+: any misbehaviour disconnects), and since
 * the peer is a loopback one it is disconnected, not discouraged. No `sendmsgtopeer` is needed
 * (that RPC exists only from v26). Node 0 runs without the noban whitelist: noban peers are never
 * punished.
 */
import type { NetworkPeer } from '../harness/p2p/network-peers.js';
import type { PeerClose } from '../harness/p2p/peer.js';
import type { TraceEvent } from '../tracing/events.js';
import { tracesConnectionEvents } from './checks.js';
import { invalidProofOfWorkHeaders } from './misbehaving.js';
import { stateCheck, type CheckResult, type Scenario } from './types.js';

const NODE = 0;

interface Run {
  entry: NetworkPeer;
  /** Node 0's id of the peer. */
  peerId: number;
  payloadSize: number;
  close?: PeerClose;
}

function nodeEvent(events: readonly TraceEvent[], run: Run, tracepoint: 'net:misbehaving_connection' | 'net:closed_connection'): TraceEvent | undefined {
  return events.find((e) => e.tracepoint === tracepoint && e.node === NODE && e.args.peer_id === run.peerId);
}

export const peerMisbehaving: Scenario<Run> = {
  name: 'peer-misbehaving',
  summary: 'a TypeScript peer sends node 0 a header with invalid proof of work; node 0 disconnects it (no sendmsgtopeer needed)',
  minNodes: 1,
  tracepoints: ['net:misbehaving_connection'],
  defaults: { nodes: 1, topology: 'none' },
  networkOptions: () => ({ fastRelay: false }),
  act: async (context) => {
    const { network, trace } = context;
    const entry = await network.addPeer({ to: NODE });
    await entry.peer.syncWithPing();
    const info = (await network.node(NODE).rpc.call('getpeerinfo')).find((p) => p.addr === entry.peer.localAddress);
    const genesis = await network.node(NODE).rpc.call('getblockhash', 0);
    const payload = invalidProofOfWorkHeaders(genesis, Math.floor(Date.now() / 1000));
    const run: Run = { entry, peerId: info?.id ?? -1, payloadSize: payload.length };
    entry.peer.send({ type: 'unknown', command: 'headers', payload });
    run.close = await entry.peer.waitForClose({ description: `node${NODE} to disconnect ${entry.name} after the invalid header` });
    await trace.waitForMessage({ node: NODE, peer_node: entry.lane, direction: 'in', msg_type: 'headers' });
    if (tracesConnectionEvents(network)) {
      await trace.waitFor((e) => nodeEvent([e], run, 'net:closed_connection') !== undefined, { description: `node${NODE} to trace closing its connection to ${entry.name}` });
    }
    return run;
  },
  expectations: async (context, run) => {
    if (!run) return [];
    const { trace, network } = context;
    const view = trace.connection(run.entry.lane, NODE);
    const nodeSide = view.listener;
    const bad = nodeSide.receivedEvents().find((e) => e.args.msg_type === 'headers' && e.args.msg_size === run.payloadSize);
    const peers = await network.node(NODE).rpc.call('getpeerinfo');
    const peerClosed = trace.events.find((e) => e.node === run.entry.lane && e.tracepoint === 'net:closed_connection');
    const checks: CheckResult[] = [
      stateCheck(run.peerId >= 0 && nodeSide.peerId === run.peerId, `node${NODE} traces ${run.entry.name} as its peer ${run.peerId} (inbound)`, `traced peer id ${nodeSide.peerId ?? 'none'}, conn type ${nodeSide.connType ?? '—'}`),
      stateCheck(bad !== undefined, `node${NODE} processes the bad 'headers' (${run.payloadSize} bytes) from ${run.entry.name}`, bad ? `at t=${bad.t} µs` : `it received: ${nodeSide.received().join(', ')}`),
      stateCheck(run.close?.by === 'remote', `${run.entry.name} sees node${NODE} close the connection`, run.close ? `${run.close.by}: ${run.close.detail}` : 'still open'),
      stateCheck(peerClosed !== undefined, `the close shows on ${run.entry.name}'s lane (net:closed_connection, source peer)`, peerClosed ? `at t=${peerClosed.t} µs` : 'not traced'),
      stateCheck(!peers.some((p) => p.id === run.peerId), `node${NODE} no longer lists peer ${run.peerId} (getpeerinfo)`, `it lists peer ids ${peers.map((p) => p.id).join(', ') || '(none)'}`),
    ];
    if (!tracesConnectionEvents(network)) return checks;
    const punished = nodeEvent(trace.events, run, 'net:misbehaving_connection');
    const closed = nodeEvent(trace.events, run, 'net:closed_connection');
    const reason = punished?.tracepoint === 'net:misbehaving_connection' ? punished.args.message : undefined;
    checks.push(
      stateCheck(reason?.includes('proof of work') === true, `node${NODE} reports ${run.entry.name} as misbehaving for the invalid proof of work (net:misbehaving_connection)`, punished ? `reason: '${reason}'` : 'no misbehaving_connection event for that peer'),
      stateCheck(
        closed !== undefined && bad !== undefined && punished !== undefined && bad.t <= punished.t && punished.t <= closed.t,
        `on node${NODE}: bad headers processed, then misbehaving, then the connection closed (net:closed_connection)`,
        `received ${bad?.t ?? '—'} µs, misbehaving ${punished?.t ?? '—'} µs, closed ${closed?.t ?? '—'} µs`,
      ),
      stateCheck(closed?.peer_node === run.entry.lane, `node${NODE}'s close event points at ${run.entry.name} (peer_node ${run.entry.lane})`, `peer_node ${closed?.peer_node ?? '—'}`),
    );
    return checks;
  },
};
