/**
 * Inbound eviction: node 0 runs with -maxconnections=32, which leaves 21 inbound slots
 * (32 − 8 outbound full-relay − 2 block-relay-only − 1 feeler, CConnman::Init). TypeScript peers
 * fill them; one more peer makes node 0 look for an inbound peer to evict
 * (AttemptToEvictConnection). Core protects 4 peers by netgroup, 8 by ping time, 4 by last tx,
 * 4 by last block, then half of the rest — so a candidate exists only once more than 20 inbound
 * peers are connected, which is why the slots number 21 here. No noban whitelist: noban peers are
 * never evicted. On v29+ with USDT, net:evicted_inbound_connection names the evicted peer.
 */
import type { NetworkPeer } from '../harness/p2p/network-peers.js';
import type { PeerClose } from '../harness/p2p/peer.js';
import { versionAtLeast } from '../harness/common/version.js';
import type { TraceEvent } from '../tracing/events.js';
import { tracesConnectionEvents } from './checks.js';
import { stateCheck, type CheckResult, type Scenario } from './types.js';

const NODE = 0;
export const EVICTION_MAX_CONNECTIONS = 32;
/** CConnman::Init: max(0, maxconnections − 8 full-relay − 2 block-relay-only − 1 feeler). */
export const EVICTION_INBOUND_SLOTS = EVICTION_MAX_CONNECTIONS - 11;

interface Run {
  peers: NetworkPeer[];
  /** Node 0's id of each peer, by lane. */
  ids: Map<number, number>;
  evicted: NetworkPeer;
  close: PeerClose;
}

export const peerEviction: Scenario<Run> = {
  name: 'peer-eviction',
  summary: `TypeScript peers fill node 0's ${EVICTION_INBOUND_SLOTS} inbound slots (-maxconnections=${EVICTION_MAX_CONNECTIONS}); one more makes node 0 evict one`,
  minNodes: 1,
  defaults: { nodes: 1, topology: 'none' },
  networkOptions: () => ({ fastRelay: false, extraArgs: (index) => (index === NODE ? [`-maxconnections=${EVICTION_MAX_CONNECTIONS}`] : []) }),
  act: async (context) => {
    const { network } = context;
    const peers: NetworkPeer[] = [];
    for (let i = 0; i < EVICTION_INBOUND_SLOTS; i++) peers.push(await network.addPeer({ to: NODE }));
    const infos = await network.node(NODE).rpc.call('getpeerinfo');
    const ids = new Map(peers.map((p) => [p.lane, infos.find((info) => info.addr === p.peer.localAddress)?.id ?? -1]));
    // The first peer to be closed, whichever it is: Core picks among the unprotected ones.
    const firstClose = Promise.race(peers.map((p) => p.peer.waitForClose({ description: `node${NODE} to evict one of its ${EVICTION_INBOUND_SLOTS} inbound peers` }).then((close) => ({ entry: p, close }))));
    const extra = await network.addPeer({ to: NODE });
    peers.push(extra);
    const { entry, close } = await firstClose;
    ids.set(extra.lane, (await network.node(NODE).rpc.call('getpeerinfo')).find((info) => info.addr === extra.peer.localAddress)?.id ?? -1);
    const evictedId = ids.get(entry.lane);
    // The node's own view of the newcomer (its version, from the trace) may be read after the peer's
    // handshake completed on the peer's side: wait for it, so the lanes compare like with like.
    await context.trace.waitFor((e) => e.node === NODE && e.peer_node === extra.lane, { description: `node${NODE} to trace ${extra.name}'s traffic` });
    if (tracesConnectionEvents(network)) {
      await context.trace.waitFor((e) => e.node === NODE && e.tracepoint === 'net:closed_connection' && e.args.peer_id === evictedId, { description: `node${NODE} to trace closing ${entry.name}` });
    }
    return { peers, ids, evicted: entry, close };
  },
  expectations: async (context, run) => {
    if (!run) return [];
    const { network, trace } = context;
    const evictedId = run.ids.get(run.evicted.lane)!;
    const extra = run.peers.at(-1)!;
    const infos = await network.node(NODE).rpc.call('getpeerinfo');
    const stillOpen = run.peers.filter((p) => !p.peer.isClosed);
    const checks: CheckResult[] = [
      stateCheck(run.close.by === 'remote', `an inbound peer (${run.evicted.name}) sees node${NODE} close its connection`, `${run.close.by}: ${run.close.detail}`),
      stateCheck(run.evicted !== extra, `the evicted peer is one of the ${EVICTION_INBOUND_SLOTS} that filled the slots, not the newcomer`, `evicted ${run.evicted.name}`),
      stateCheck(
        stillOpen.length === EVICTION_INBOUND_SLOTS && !extra.peer.isClosed,
        `node${NODE} keeps ${EVICTION_INBOUND_SLOTS} inbound peers, the newcomer among them`,
        `${stillOpen.length} peers still connected; newcomer ${extra.peer.isClosed ? 'closed' : 'connected'}`,
      ),
      stateCheck(!infos.some((p) => p.id === evictedId), `node${NODE} no longer lists peer ${evictedId} (getpeerinfo)`, `it lists ${infos.length} peers`),
    ];
    if (tracesConnectionEvents(network)) {
      const closed = trace.events.find((e) => e.node === NODE && e.tracepoint === 'net:closed_connection' && e.args.peer_id === evictedId);
      checks.push(stateCheck(closed?.peer_node === run.evicted.lane, `node${NODE} traces closing ${run.evicted.name} (net:closed_connection, peer_node ${run.evicted.lane})`, closed ? `peer_node ${closed.peer_node}` : 'no such event'));
    }
    if (network.tracer?.source === 'usdt' && versionAtLeast(network.binary, '29.0')) {
      const evicted = trace.events.filter((e): e is TraceEvent<'net:evicted_inbound_connection'> => e.node === NODE && e.tracepoint === 'net:evicted_inbound_connection');
      checks.push(
        stateCheck(
          evicted.length === 1 && evicted[0]!.args.peer_id === evictedId && evicted[0]!.peer_node === run.evicted.lane && evicted[0]!.args.peer_conn_type === 'inbound',
          `net:evicted_inbound_connection fires once, for ${run.evicted.name} (peer ${evictedId}, inbound)`,
          evicted.map((e) => `peer ${e.args.peer_id} → ${e.peer_node}`).join('; ') || 'never fired',
        ),
      );
    }
    return checks;
  },
};
