/**
 * The version handshake between node 0 and TypeScript test peers (harness/p2p), both ways:
 * peer0 dials node 0 (node 0 is the listener), and node 0 dials peer1's listener as an outbound
 * full-relay connection (regtest's addconnection). Each side's order is checked as between two
 * nodes, and the node's traced view is compared with what the peer sent and received.
 */
import type { NetworkPeer } from '../harness/p2p/network-peers.js';
import { checkTracedViewMatchesPeer, peerHandshakeChecks, waitForNodeMessage } from './peer-checks.js';
import { stateCheck, type CheckResult, type Scenario, type ScenarioContext } from './types.js';

const NODE = 0;

interface Run {
  inbound: NetworkPeer;
  outbound: NetworkPeer;
}

/** Both ends have exchanged a ping and its pong: each side's first SendMessages pass after verack is over. */
async function settle(context: ScenarioContext, entry: NetworkPeer): Promise<void> {
  await waitForNodeMessage(context.trace, NODE, entry.lane, 'in', 'pong'); // the peer answered the node's ping
  await entry.peer.syncWithPing();
  await waitForNodeMessage(context.trace, NODE, entry.lane, 'out', 'pong');
}

export const peerHandshake: Scenario<Run> = {
  name: 'peer-handshake',
  summary: 'a TypeScript peer dials node 0, and node 0 dials another (outbound-full-relay): the handshake order on each side',
  minNodes: 1,
  defaults: { nodes: 1, topology: 'none' },
  act: async (context) => {
    const inbound = await context.network.addPeer({ to: NODE });
    const outbound = await context.network.addListeningPeer({ from: NODE, connType: 'outbound-full-relay' });
    await Promise.all([settle(context, inbound), settle(context, outbound)]);
    return { inbound, outbound };
  },
  expectations: async (context, run) => {
    if (!run) return [];
    const { trace, network } = context;
    const inboundView = trace.connection(run.inbound.lane, NODE);
    const outboundView = trace.connection(NODE, run.outbound.lane);
    const peers = await network.node(NODE).rpc.call('getpeerinfo');
    const listed = (entry: NetworkPeer, address: string) => peers.find((p) => p.addr === address);
    const asInbound = listed(run.inbound, run.inbound.peer.localAddress);
    const asOutbound = listed(run.outbound, run.outbound.peer.localAddress);
    const checks: CheckResult[] = [
      ...peerHandshakeChecks(inboundView, 'listener', { nodeSendsGetaddr: false }),
      ...checkTracedViewMatchesPeer(inboundView, 'listener'),
      ...peerHandshakeChecks(outboundView, 'dialer', { nodeSendsGetaddr: true }),
      ...checkTracedViewMatchesPeer(outboundView, 'dialer'),
      stateCheck(asInbound?.inbound === true, `node${NODE} lists ${run.inbound.name} as an inbound peer (getpeerinfo)`, asInbound ? `inbound=${asInbound.inbound}, ${asInbound.connection_type}` : 'not listed'),
      stateCheck(
        asOutbound?.connection_type === 'outbound-full-relay',
        `node${NODE} lists ${run.outbound.name} as an outbound-full-relay peer (getpeerinfo)`,
        asOutbound ? `connection_type ${asOutbound.connection_type}` : 'not listed',
      ),
    ];
    return checks;
  },
};
