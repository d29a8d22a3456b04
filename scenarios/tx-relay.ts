/**
 * Transaction relay between two nodes: node 0's wallet pays node 1, node 0 announces the tx with
 * `inv`, node 1 asks for it with `getdata`, node 0 sends `tx`, and the tx is in node 1's mempool.
 *
 * The three messages are on two nodes, whose clocks are never compared. Their order follows
 * from each side's own order plus causality on the connection (a message is received only after
 * it was sent): node 0 sends inv (out@0) → node 1 sends getdata only after receiving inv (@1) →
 * node 0 sends tx only after receiving getdata (@0).
 */
import { HarnessError } from '../harness/common/errors.js';
import { WALLET } from '../harness/network.js';
import { checkSendsInOrder, checkSendsOnlyAfterReceived } from '../tracing/checks/sequence-checks.js';
import { decodePayload } from '../tracing/decode/index.js';
import type { InventoryPayload } from '../tracing/decode/index.js';
import { isMessageEvent } from '../tracing/events.js';
import { edgeBetween, roleOf } from './checks.js';
import { settleHandshake } from './handshake.js';
import { phase, traceNowUs } from './phase.js';
import { stateCheck, type CheckResult, type Scenario } from './types.js';

const SENDER = 0;
const RECEIVER = 1;
/** Core's MSG_WTX: peers that exchanged `wtxidrelay` announce transactions by wtxid. */
const MSG_WTX = 5;

interface TxRelayRun {
  txid: string;
  wtxid: string;
  sinceUs: number;
}

export const txRelay: Scenario<TxRelayRun> = {
  name: 'tx-relay',
  summary: "a wallet tx from node 0 to node 1: inv (wtxid) → getdata → tx, then it is in node 1's mempool",
  minNodes: 2,
  defaults: { nodes: 2, topology: '1>0' },
  act: async (context) => {
    const { network, trace } = context;
    const edge = edgeBetween(context.edges, SENDER, RECEIVER);
    if (!edge) {
      throw new HarnessError('BAD_TOPOLOGY', `tx-relay needs node ${SENDER} and node ${RECEIVER} connected directly`, {
        fix: "run tx-relay with its default topology (1>0) or any topology with an edge between nodes 0 and 1",
      });
    }
    await settleHandshake(context, edge);
    await network.fund(SENDER, 1.01); // 101 blocks: the coinbase must mature before the wallet can spend it
    const address = await network.newAddress(RECEIVER);
    const sinceUs = traceNowUs(network); // after funding: its 101 blocks' messages are not this tx's
    const txid = await network.node(SENDER).rpc.wallet(WALLET, 'sendtoaddress', address, 1);
    const { hash: wtxid } = await network.node(SENDER).rpc.call('getrawtransaction', txid, true);
    const tx = (node: number, peer: number, dir: 'in' | 'out') =>
      trace.waitForMessage({ node, peer_node: peer, direction: dir, msg_type: 'tx' });
    await Promise.all([tx(SENDER, RECEIVER, 'out'), tx(RECEIVER, SENDER, 'in')]);
    await network.waitForMempool(txid, [RECEIVER]);
    return { txid, wtxid, sinceUs };
  },
  expectations: async (context, run) => {
    const edge = edgeBetween(context.edges, SENDER, RECEIVER);
    if (!run || !edge) return [];
    const view = phase(context.trace.connection(edge.from, edge.to), { sinceUs: run.sinceUs, what: '(after sendtoaddress)' });
    const sender = roleOf(edge, SENDER);
    const receiver = roleOf(edge, RECEIVER);
    const mempool = await context.network.node(RECEIVER).rpc.call('getrawmempool');
    const checks: CheckResult[] = [
      checkSendsInOrder(view, sender, ['inv', 'tx']),
      checkSendsOnlyAfterReceived(view, receiver, 'getdata', 'inv'),
      checkSendsOnlyAfterReceived(view, sender, 'tx', 'getdata'),
      stateCheck(mempool.includes(run.txid), `tx ${run.txid} is in node${RECEIVER}'s mempool (getrawmempool)`, `the mempool holds ${mempool.length} tx(s)${mempool.includes(run.txid) ? ', this one among them' : ', not this one'}`),
    ];
    // Payload bytes come with USDT only; the log tracer has none, so there is nothing to decode.
    const captured = view.side(sender).sentEvents().filter((e) => isMessageEvent(e) && e.args.msg_type === 'inv' && e.args.msg !== undefined);
    if (captured.length > 0) {
      const entries = captured.flatMap((e) => (decodePayload('inv', e.args.msg!, e.args.msg_size) as InventoryPayload).entries);
      const announced = entries.find((entry) => entry.hash === run.wtxid);
      checks.push(
        stateCheck(
          announced?.typeCode === MSG_WTX,
          `node${SENDER} announces the tx as MSG_WTX (type ${MSG_WTX}) with its wtxid ${run.wtxid}`,
          announced ? `it used type ${announced.typeCode} (${announced.typeName})` : `no captured inv entry carries that hash (${entries.map((x) => `${x.typeName} ${x.hash}`).join(', ')})`,
        ),
      );
    }
    return checks;
  },
};
