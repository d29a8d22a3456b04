import { versionAtLeast } from '../harness/common/version.js';
import type { Edge } from '../harness/topology.js';
import {
  checkSends,
  checkSendsBetween,
  checkSendsFirst,
  checkSendsOnlyAfterReceived,
} from '../tracing/checks/sequence-checks.js';
import type { Role } from '../tracing/connections.js';
import { sinceVersion } from './applicability.js';
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
        { description: `node${node} to receive a pong from node${peer}` },
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
    ...(v2 ? { appliesTo: sinceVersion('26.0', 'BIP324 v2 transport exists since Bitcoin Core v26.0') } : {}),
    act: async (context) => {
      await Promise.all(context.edges.map((edge) => settleHandshake(context, edge)));
    },
    expectations: async (context) => {
      const checks = context.edges.flatMap((edge) => handshakeChecks(context, edge));
      for (const edge of context.edges) checks.push(...(await transportChecks(context, edge, v2)));
      return checks;
    },
  };
}

/** v1's message header: magic, command, length, checksum (Core's CMessageHeader::HEADER_SIZE). */
const V1_HEADER_BYTES = 24;

/**
 * Which transport the dialer's connection uses, from getpeerinfo. `transport_protocol_type` exists
 * since v26 (with BIP324); before it every connection is v1, and v1's framing is visible in the
 * per-message byte counts instead: an empty `verack` costs exactly its 24-byte header.
 */
async function transportChecks(context: ScenarioContext, edge: Edge, v2: boolean): Promise<CheckResult[]> {
  const peers = await context.network.node(edge.from).rpc.call('getpeerinfo');
  const peer = peers.find((p) => !p.inbound && p.addr === context.network.node(edge.to).p2pAddress);
  const wanted = v2 ? 'v2' : 'v1';
  const claim = `connection ${edge.from}→${edge.to} uses ${wanted} transport (getpeerinfo)`;
  if (peer === undefined) return [stateCheck(false, claim, `node${edge.from}'s getpeerinfo has no outbound peer ${context.network.node(edge.to).p2pAddress}`)];
  if (versionAtLeast(context.network.binary, '26.0')) {
    return [stateCheck(peer.transport_protocol_type === wanted, claim, `getpeerinfo says ${peer.transport_protocol_type ?? 'nothing (no transport_protocol_type field)'}`)];
  }
  const sent = peer.bytessent_per_msg.verack;
  const received = peer.bytesrecv_per_msg.verack;
  return [
    stateCheck(
      !v2 && sent === V1_HEADER_BYTES && received === V1_HEADER_BYTES,
      `connection ${edge.from}→${edge.to} uses v1 framing: verack costs its ${V1_HEADER_BYTES}-byte header each way (getpeerinfo bytes per message; v${context.network.binary.version} has no transport field)`,
      `node${edge.from} counts verack as ${sent ?? 'never'} bytes sent, ${received ?? 'never'} received`,
    ),
  ];
}

export const handshake = handshakeScenario('handshake', false);
export const handshakeV2 = handshakeScenario('handshake-v2', true);
