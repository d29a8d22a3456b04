import type { Edge } from '../harness/topology.js';
import {
  checkSends,
  checkSendsBetween,
  checkSendsFirst,
  checkSendsOnlyAfterReceived,
} from '../tracing/checks/sequence-checks.js';
import type { Role } from '../tracing/connections.js';
import { checkNeverSends } from './checks.js';
import { stateCheck, type CheckResult, type Scenario, type ScenarioContext } from './types.js';

/**
 * Wait until both sides of an edge have received a `pong`: by then each side has run its first
 * full SendMessages pass after verack (sendcmpct, ping, getheaders, feefilter are queued).
 */
export async function settleHandshake(context: ScenarioContext, edge: Edge, occurrence: number | 'last' = 'last'): Promise<void> {
  const { trace } = context;
  await Promise.all(
    [
      [edge.from, edge.to],
      [edge.to, edge.from],
    ].map(([node, peer]) => {
      const before = occurrence === 'last' ? 0 : trace.messages({ node: node!, peer_node: peer!, direction: 'in', msg_type: 'pong' }).length;
      return trace.waitFor(
        (e) => e.tracepoint === 'net:inbound_message' && e.node === node && e.peer_node === peer && e.args.msg_type === 'pong' && trace.messages({ node: node!, peer_node: peer!, direction: 'in', msg_type: 'pong' }).length > before,
        { description: `node${node} to receive a pong from node${peer}`, timeoutMs: 30_000 },
      );
    }),
  );
}

/** The handshake rules of Core's net_processing (docs/sources.md, "Handshake order"), for one connection. */
export function handshakeChecks(context: ScenarioContext, edge: Edge, occurrence: number | 'last' = 'last'): CheckResult[] {
  const view = context.trace.connection(edge.from, edge.to, { occurrence });
  const both: Role[] = ['dialer', 'listener'];
  return [
    checkSendsFirst(view, 'dialer', 'version'),
    checkSendsFirst(view, 'listener', 'version'),
    checkSendsOnlyAfterReceived(view, 'listener', 'version', 'version'),
    ...both.map((role) => checkSendsBetween(view, role, ['wtxidrelay', 'sendaddrv2'], { after: 'version', before: 'verack' })),
    ...both.map((role) => checkSendsOnlyAfterReceived(view, role, 'sendcmpct', 'verack')),
    checkSends(view, 'dialer', 'getaddr'),
    checkNeverSends(view, 'listener', 'getaddr', `${view.listener.label} never sends 'getaddr' (addresses are asked of outbound peers only)`),
  ];
}

function handshakeScenario(name: string, v2: boolean): Scenario {
  return {
    name,
    summary: v2
      ? 'the version handshake over BIP324 v2 transport: same messages, encrypted transport'
      : 'the version handshake over v1 transport: version → wtxidrelay → sendaddrv2 → verack, then sendcmpct',
    minNodes: 2,
    defaults: { nodes: 2, topology: 'line' },
    networkOptions: () => ({ v2transport: v2 }),
    act: async (context) => {
      await Promise.all(context.edges.map((edge) => settleHandshake(context, edge)));
    },
    expectations: async (context) => {
      const checks = context.edges.flatMap((edge) => handshakeChecks(context, edge));
      for (const edge of context.edges) {
        const peers = await context.network.node(edge.from).rpc.call('getpeerinfo');
        const peer = peers.find((p) => !p.inbound && p.addr === context.network.node(edge.to).p2pAddress);
        const wanted = v2 ? 'v2' : 'v1';
        checks.push(
          stateCheck(
            peer?.transport_protocol_type === wanted,
            `connection ${edge.from}→${edge.to} uses ${wanted} transport (getpeerinfo)`,
            `getpeerinfo says ${peer?.transport_protocol_type ?? 'no such peer'}`,
          ),
        );
      }
      return checks;
    },
  };
}

export const handshake = handshakeScenario('handshake', false);
export const handshakeV2 = handshakeScenario('handshake-v2', true);
