/**
 * Address relay on request: node 0 knows some addresses, node 1 dials it and sends `getaddr`, node 0
 * answers with `addrv2` (node 1 sent `sendaddrv2` in the handshake).
 *
 * Three facts of Core shape the actions:
 * - The handshake at network start already asked (`getaddr`) while node 0's addrman was empty, and
 *   Core answers once per connection. So: seed addrman, then disconnect and dial again; the second
 *   connection's `getaddr` is the one answered.
 * - Core caches an inbound peer's getaddr answer for about a day per local socket: the second
 *   connection would get the first one's empty answer. Peers with the `addr` permission get a fresh,
 *   uncached answer, so the nodes whitelist loopback with it.
 * - The answer leaves at the peer's next address-send time (Poisson, ~30 s average). Advancing node 0's
 *   clock (setmocktime) once it has processed `getaddr` makes that time come at its next send pass.
 */
import { HarnessError } from '../harness/common/errors.js';
import { checkSends, checkSendsOnlyAfterReceived } from '../tracing/checks/sequence-checks.js';
import { checkNeverSends } from './checks.js';
import { settleHandshake } from './handshake.js';
import { testOnionAddress } from './onion-addresses.js';
import { stateCheck, type CheckResult, type Scenario } from './types.js';

/** A getaddr answer may be a fraction of addrman (23% without the addr permission; Knots 29 sent 1 of 6 with it): 10 leaves at least one. */
const SEEDED_ADDRESSES = 10;
/** Well past the ~30 s Poisson average, well short of the 20 min inactivity timeout. */
const CLOCK_JUMP_S = 10 * 60;

interface AddrRelayRun {
  seeded: string[];
}

export const addrRelay: Scenario<AddrRelayRun> = {
  name: 'addr-relay',
  summary: "node 1 asks node 0 for addresses (getaddr) and gets addrv2 from node 0's addrman; node 0 never asks",
  minNodes: 2,
  defaults: { nodes: 2, topology: '1>0' },
  networkOptions: () => ({ extraArgs: ['-whitelist=addr@127.0.0.1'] }),
  act: async (context) => {
    const { network, trace } = context;
    const edge = context.edges[0];
    if (!edge) {
      throw new HarnessError('BAD_TOPOLOGY', 'addr-relay needs at least one connection', { fix: 'run addr-relay with its default topology (1>0)' });
    }
    const answerer = network.node(edge.to);
    await settleHandshake(context, edge);
    const seeded: string[] = [];
    for (let n = 0; n < SEEDED_ADDRESSES; n++) {
      const address = testOnionAddress(n);
      const added = await answerer.rpc.call('addpeeraddress', address, 9050);
      if (added.success) seeded.push(address);
    }
    await network.disconnect(edge);
    await network.reconnect(edge);
    const view = trace.connection(edge.from, edge.to, { occurrence: 'last' });
    await trace.waitForMessage({ node: edge.to, peer_id: view.listener.peerId!, direction: 'in', msg_type: 'getaddr' });
    try {
      await answerer.rpc.call('setmocktime', Math.floor(Date.now() / 1000) + CLOCK_JUMP_S);
      await trace.waitFor(
        (e) => e.tracepoint === 'net:inbound_message' && e.node === edge.from && e.args.peer_id === view.dialer.peerId && (e.args.msg_type === 'addrv2' || e.args.msg_type === 'addr'),
        { description: `node${edge.from} to receive addrv2 (or addr) from node${edge.to} on the second connection` },
      );
    } finally {
      await answerer.rpc.call('setmocktime', 0);
    }
    return { seeded };
  },
  expectations: (context, run) => {
    const edge = context.edges[0];
    if (!run || !edge) return [];
    const view = context.trace.connection(edge.from, edge.to, { occurrence: 'last' });
    const checks: CheckResult[] = [
      stateCheck(run.seeded.length > 0, `node${edge.to}'s addrman takes the seeded addresses (addpeeraddress)`, `${run.seeded.length} of ${SEEDED_ADDRESSES} added`),
      checkSends(view, 'dialer', 'getaddr'),
      checkNeverSends(view, 'listener', 'getaddr', `${view.listener.label} never sends 'getaddr' (addresses are asked of outbound peers only)`),
      checkSendsOnlyAfterReceived(view, 'listener', 'addrv2', 'getaddr'),
      checkNeverSends(view, 'listener', 'addr', `${view.listener.label} never sends v1 'addr' (the peer asked for addrv2 with 'sendaddrv2')`),
    ];
    return checks;
  },
};
