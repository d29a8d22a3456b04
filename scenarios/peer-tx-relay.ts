/**
 * A TypeScript peer hands node 0 a transaction the way a Core peer would: it announces it by
 * wtxid (inv MSG_WTX, BIP 339), serves node 0's getdata with the tx, and node 0 relays it on to
 * node 1 (inv → getdata → tx). The tx is a real signed one from node 1's wallet, created with
 * `send … add_to_wallet=false` so no node has it before the peer announces it.
 */
import { HarnessError } from '../harness/common/errors.js';
import { WALLET } from '../harness/network.js';
import { decodePayload } from '../harness/p2p/codec.js';
import { INV, type InvEntry } from '../harness/p2p/messages.js';
import type { NetworkPeer } from '../harness/p2p/network-peers.js';
import type { Transaction } from '../harness/p2p/tx.js';
import { checkSendsInOrder, checkSendsOnlyAfterReceived } from '../tracing/checks/sequence-checks.js';
import { edgeBetween, roleOf } from './checks.js';
import { settleHandshake } from './handshake.js';
import { phase, traceNowUs } from './phase.js';
import { stateCheck, type CheckResult, type Scenario } from './types.js';

const RELAY = 0;
const RECEIVER = 1;

interface Run {
  entry: NetworkPeer;
  tx: Transaction;
  size: number;
  sinceUs: number;
  /** What node 0 asked the peer for. */
  requested: InvEntry[];
}

export const peerTxRelay: Scenario<Run> = {
  name: 'peer-tx-relay',
  summary: 'a TypeScript peer announces a tx to node 0 by wtxid and serves its getdata; node 0 relays the tx to node 1',
  minNodes: 2,
  defaults: { nodes: 2, topology: '1>0' },
  act: async (context) => {
    const { network, trace } = context;
    const edge = edgeBetween(context.edges, RELAY, RECEIVER);
    if (!edge) throw new HarnessError('BAD_TOPOLOGY', `peer-tx-relay needs node ${RELAY} and node ${RECEIVER} connected directly`, { fix: 'run peer-tx-relay with its default topology (1>0)' });
    await settleHandshake(context, edge);
    await network.fund(RECEIVER, 1.01); // mines 101 blocks on node 1: a spendable coinbase, and node 0 out of IBD
    const address = await network.newAddress(RECEIVER);
    const signed = await network.node(RECEIVER).rpc.wallet(WALLET, 'send', [{ [address]: 1 }], null, 'unset', null, { add_to_wallet: false });
    if (!signed.complete || !signed.hex) throw new HarnessError('RPC_FAILED', `node${RECEIVER}'s wallet did not sign the tx`, { fix: 'check the wallet balance (fund)' });
    const raw = Buffer.from(signed.hex, 'hex');
    const decoded = decodePayload('tx', raw);
    if (decoded.type !== 'tx') throw new HarnessError('RPC_FAILED', 'the wallet tx does not decode as a tx', { fix: 'report this: harness/p2p/codec.ts could not read a wallet transaction' });
    const entry = await network.addPeer({ to: RELAY });
    await entry.peer.syncWithPing();
    const run: Run = { entry, tx: decoded.tx, size: raw.length, sinceUs: traceNowUs(network), requested: [] };
    entry.peer.on('getdata', (getdata) => {
      run.requested.push(...getdata.inventory);
      if (getdata.inventory.some((i) => i.hash === run.tx.wtxid || i.hash === run.tx.txid)) entry.peer.send({ type: 'tx', tx: run.tx });
    });
    entry.peer.send({ type: 'inv', inventory: [{ invType: INV.WTX, hash: run.tx.wtxid }] });
    await entry.peer.waitFor('getdata', { where: (m) => m.inventory.some((i) => i.hash === run.tx.wtxid), description: `node${RELAY}'s getdata for wtxid ${run.tx.wtxid}` });
    await Promise.all([
      trace.waitForMessage({ node: RELAY, peer_node: RECEIVER, direction: 'out', msg_type: 'tx' }),
      trace.waitForMessage({ node: RECEIVER, peer_node: RELAY, direction: 'in', msg_type: 'tx' }),
    ]);
    await network.waitForMempool(run.tx.txid, [RELAY, RECEIVER]);
    return run;
  },
  expectations: async (context, run) => {
    const edge = edgeBetween(context.edges, RELAY, RECEIVER);
    if (!run || !edge) return [];
    const { trace, network } = context;
    const since = { sinceUs: run.sinceUs, what: '(after the peer announced the tx)' };
    const peerView = phase(trace.connection(run.entry.lane, RELAY), since);
    const relayView = phase(trace.connection(edge.from, edge.to), since);
    const fromPeer = peerView.listener.receivedEvents().find((e) => e.args.msg_type === 'tx');
    const asked = run.requested.find((i) => i.hash === run.tx.wtxid);
    const mempools = await Promise.all([RELAY, RECEIVER].map((n) => network.node(n).rpc.call('getrawmempool')));
    const entry = mempools[0]!.includes(run.tx.txid) ? await network.node(RELAY).rpc.call('getmempoolentry', run.tx.txid) : undefined;
    const checks: CheckResult[] = [
      checkSendsInOrder(peerView, 'dialer', ['inv', 'tx']),
      checkSendsOnlyAfterReceived(peerView, 'listener', 'getdata', 'inv'),
      stateCheck(asked?.invType === INV.WTX, `node${RELAY} asks ${run.entry.name} for the tx by wtxid (getdata MSG_WTX ${run.tx.wtxid})`, run.requested.map((i) => `type ${i.invType} ${i.hash}`).join(', ') || 'no getdata'),
      stateCheck(fromPeer?.args.msg_size === run.size, `node${RELAY} processes the ${run.size}-byte tx from ${run.entry.name}`, fromPeer ? `${fromPeer.args.msg_size} bytes` : `it received: ${peerView.listener.received().join(', ')}`),
      stateCheck(entry?.wtxid === run.tx.wtxid, `the txid/wtxid the peer computed are node${RELAY}'s (getmempoolentry)`, entry ? `node: wtxid ${entry.wtxid}; peer: txid ${run.tx.txid}, wtxid ${run.tx.wtxid}` : 'not in the mempool'),
      checkSendsInOrder(relayView, roleOf(edge, RELAY), ['inv', 'tx']),
      checkSendsOnlyAfterReceived(relayView, roleOf(edge, RECEIVER), 'getdata', 'inv'),
      checkSendsOnlyAfterReceived(relayView, roleOf(edge, RELAY), 'tx', 'getdata'),
      stateCheck(mempools[1]!.includes(run.tx.txid), `the tx is in node${RECEIVER}'s mempool (getrawmempool)`, `node${RECEIVER} holds ${mempools[1]!.length} tx(s)`),
    ];
    return checks;
  },
};
