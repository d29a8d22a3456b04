/**
 * A peer that misbehaves is disconnected: node 1 sends node 0 a `headers` message whose header has
 * an impossible proof of work (nBits = 0: target zero), through the test-only RPC `sendmsgtopeer`.
 * Core punishes that on every version the harness runs (before v28: score 100, over the threshold;
 * v28+: any misbehaviour), whereas an oversized `addr` only scored 20 before v28 and would not disconnect.
 * Binaries without `sendmsgtopeer` (before v26) get the same header from a TypeScript test peer
 * (harness/p2p) dialled into node 0 instead: the offender is then `peer0`, not node 1.
 *
 * Node 0 is the listener, so node 1 is an inbound peer there: Core never disconnects manual or
 * noban peers for misbehaving, hence `fastRelay: false` (no noban whitelist). A loopback peer is
 * disconnected but not discouraged ("disconnecting but not discouraging local peer").
 *
 * Before v26 there is no `sendmsgtopeer`, so the scenario declares itself not applicable there
 * (`appliesTo`, via `rawMessageRoute`) until the TypeScript test peer can play the offender.
 * Before v29 USDT has no connection tracepoints: the close is then awaited in getpeerinfo.
 */
import type { BitcoindBinary } from '../harness/binary.js';
import { HarnessError } from '../harness/common/errors.js';
import { abortable, budget } from '../harness/common/timing.js';
import { versionAtLeast } from '../harness/common/version.js';
import { waitUntil } from '../harness/common/wait.js';
import { RpcError } from '../harness/rpc.js';
import { laneName } from '../tracing/peer-lanes.js';
import type { Edge } from '../harness/topology.js';
import type { TraceEvent } from '../tracing/events.js';
import { tracesConnectionEvents } from './checks.js';
import { settleHandshake } from './handshake.js';
import { stateCheck, type CheckResult, type Scenario, type ScenarioContext } from './types.js';

/** JSON-RPC "method not found": a binary without sendmsgtopeer (before v26). */
const RPC_METHOD_NOT_FOUND = -32601;

/**
 * One block header on top of `prevHash` with nBits = 0, as a `headers` payload: count 1, the 80-byte
 * header (version, prev hash, merkle root, time, bits, nonce; little-endian), then its tx count 0.
 */
export function invalidProofOfWorkHeaders(prevHash: string, time: number): Buffer {
  const payload = Buffer.alloc(1 + 80 + 1);
  payload[0] = 1;
  payload.writeInt32LE(0x20000000, 1);
  Buffer.from(prevHash, 'hex').reverse().copy(payload, 5); // RPC hex is byte-reversed
  payload.writeUInt32LE(time, 69);
  payload.writeUInt32LE(0, 73); // nBits 0: no target can be met
  payload.writeUInt32LE(0, 77);
  return payload;
}

interface Run {
  /** A node index, or a test peer's lane (tracing/peer-lanes.ts). */
  offender: number;
  victim: number;
  /** Core's id of the offender on the victim. */
  victimPeerId: number;
  payloadSize: number;
}


/**
 * How the offender gets its raw `headers` onto the wire on this binary: node 1 through Core's
 * test-only RPC `sendmsgtopeer` (v26+), else a TypeScript test peer (harness/p2p/) dialled into
 * node 0, which then is the offender (`peer0`).
 */
export type RawMessageRoute = 'sendmsgtopeer' | 'test-peer';

export function rawMessageRoute(binary: BitcoindBinary): RawMessageRoute {
  return versionAtLeast(binary, '26.0') ? 'sendmsgtopeer' : 'test-peer';
}

async function sendRawMessage(context: ScenarioContext, from: number, peerId: number, msgType: string, payload: Buffer): Promise<void> {
  try {
    await context.network.node(from).rpc.call('sendmsgtopeer', peerId, msgType, payload.toString('hex'));
  } catch (error) {
    if (error instanceof RpcError && error.rpcCode === RPC_METHOD_NOT_FOUND) {
      throw new HarnessError('BAD_OPTION', `the misbehaving scenario needs the test RPC sendmsgtopeer, which ${context.network.binary.versionLine} does not have (Bitcoin Core added it in v26)`, {
        fix: 'run the misbehaving scenario with bitcoind v26 or newer (--bitcoind, or BITCOIND=…)',
        cause: error,
      });
    }
    throw error;
  }
}

function victimEvent(events: readonly TraceEvent[], run: Run, tracepoint: 'net:misbehaving_connection' | 'net:closed_connection'): TraceEvent | undefined {
  return events.find((e) => e.tracepoint === tracepoint && e.node === run.victim && e.args.peer_id === run.victimPeerId);
}

export const misbehaving: Scenario<Run> = {
  name: 'misbehaving',
  summary: 'node 1 sends node 0 a header with invalid proof of work; node 0 logs Misbehaving and drops the inbound peer',
  minNodes: 2,
  tracepoints: ['net:misbehaving_connection'],
  defaults: { nodes: 2, topology: '1>0' },
  networkOptions: () => ({ fastRelay: false }),
  act: async (context) => {
    const { network, trace } = context;
    const edge: Edge | undefined = context.edges[0];
    if (!edge) throw new HarnessError('BAD_TOPOLOGY', 'misbehaving needs at least one connection', { fix: 'run misbehaving with its default topology (1>0)' });
    await settleHandshake(context, edge);
    const genesis = await network.node(edge.to).rpc.call('getblockhash', 0);
    const payload = invalidProofOfWorkHeaders(genesis, Math.floor(Date.now() / 1000));
    let run: Run;
    // The offender's own id for its connection to the victim: Core's peer id on node 1, or the peer lane's.
    let offenderPeerId: number;
    if (rawMessageRoute(network.binary) === 'sendmsgtopeer') {
      const view = trace.connection(edge.from, edge.to);
      run = { offender: edge.from, victim: edge.to, victimPeerId: view.listener.peerId!, payloadSize: payload.length };
      offenderPeerId = view.dialer.peerId!;
      await sendRawMessage(context, run.offender, offenderPeerId, 'headers', payload);
    } else {
      context.log(`${network.binary.versionLine} has no sendmsgtopeer: a TypeScript test peer sends the bad header`);
      const { peer, lane } = await network.addPeer({ to: edge.to });
      await peer.syncWithPing();
      const info = (await network.node(edge.to).rpc.call('getpeerinfo')).find((p) => p.addr === peer.localAddress);
      run = { offender: lane, victim: edge.to, victimPeerId: info?.id ?? -1, payloadSize: payload.length };
      offenderPeerId = 0; // a test peer's lane numbers its connections from 0 (harness/p2p/peer-events.ts)
      peer.send({ type: 'unknown', command: 'headers', payload });
      await peer.waitForClose({ description: `node${edge.to} to disconnect ${laneName(lane)} after the invalid header` });
    }
    await trace.waitForMessage({ node: run.victim, peer_id: run.victimPeerId, direction: 'in', msg_type: 'headers' });
    const description = `node${run.victim} to close its connection to ${laneName(run.offender)} (peer_id ${run.victimPeerId})`;
    if (tracesConnectionEvents(network)) {
      // Both ends: the offender's close follows when it reads the end of the stream, and a spec
      // (test/scenarios/misbehaving.test.ts) looks at both.
      await Promise.all([
        trace.waitFor((e) => victimEvent([e], run, 'net:closed_connection') !== undefined, { description }),
        trace.waitFor((e) => e.tracepoint === 'net:closed_connection' && e.node === run.offender && e.args.peer_id === offenderPeerId, {
          description: `${laneName(run.offender)} to see its connection to node${run.victim} closed (peer_id ${offenderPeerId})`,
        }),
      ]);
    } else {
      // No connection tracepoints before v29 (USDT): the close is visible only in the victim's
      // peer list, which Core prunes in its socket thread shortly after the punishment.
      const { timing } = network;
      const victim = network.node(run.victim);
      await waitUntil(async () => !(await victim.rpc.call('getpeerinfo')).some((p) => p.id === run.victimPeerId), {
        description: `${description}, as getpeerinfo shows`,
        timeoutMs: budget(timing, 'event'),
        ...abortable(timing),
      });
    }
    return run;
  },
  expectations: async (context, run) => {
    if (!run) return [];
    const { trace } = context;
    const side = trace.connection(run.offender, run.victim).listener;
    const bad = side.receivedEvents().find((e) => e.args.msg_type === 'headers' && e.args.msg_size === run.payloadSize);
    const peers = await context.network.node(run.victim).rpc.call('getpeerinfo');
    const checks: CheckResult[] = [
      stateCheck(side.connType === 'inbound', `${laneName(run.offender)} is an inbound peer of node${run.victim} (Core does not punish manual peers)`, `its connection type there is ${side.connType ?? 'unknown'}`),
      stateCheck(bad !== undefined, `${side.label} receives the bad 'headers' (${run.payloadSize} bytes)`, bad ? `at t=${bad.t} µs` : `it received: ${side.received().join(', ')}`),
      stateCheck(!peers.some((p) => p.id === run.victimPeerId), `node${run.victim} no longer lists peer ${run.victimPeerId} (getpeerinfo)`, `it lists peer ids ${peers.map((p) => p.id).join(', ') || '(none)'}`),
    ];
    if (!tracesConnectionEvents(context.network)) return checks;
    const punished = victimEvent(trace.events, run, 'net:misbehaving_connection');
    const closed = victimEvent(trace.events, run, 'net:closed_connection');
    const reason = punished?.tracepoint === 'net:misbehaving_connection' ? punished.args.message : undefined;
    const after = closed === undefined ? [] : side.events.filter((e) => e.t > closed.t);
    checks.push(
      stateCheck(reason?.includes('proof of work') === true, `node${run.victim} reports peer ${run.victimPeerId} (${laneName(run.offender)}) as misbehaving for the invalid proof of work (net:misbehaving_connection)`, punished ? `reason: '${reason}'` : 'no misbehaving_connection event for that peer'),
      stateCheck(closed !== undefined && bad !== undefined && punished !== undefined && bad.t <= punished.t && punished.t <= closed.t, `on node${run.victim}: bad headers received, then misbehaving, then the connection closed (net:closed_connection)`, `received ${bad?.t ?? '—'} µs, misbehaving ${punished?.t ?? '—'} µs, closed ${closed?.t ?? '—'} µs`),
      stateCheck(closed !== undefined && after.length === 0, `${side.label} traces no message on that connection after it closed`, after.length === 0 ? 'none' : `after it: ${after.map((e) => e.args.msg_type).join(', ')}`),
    );
    return checks;
  },
};
