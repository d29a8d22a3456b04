/**
 * mempool:added / replaced / removed / rejected against getmempoolentry (taken right after each
 * submission), a BIP125 bump (bumpfee) whose both sides are known, the removal reasons the
 * actions cause (replaced, block), and testmempoolaccept's reject reason.
 */
import type { ConformanceContext } from './context.js';
import type { Ledger, MempoolTruth } from './ledger.js';
import { walletCall } from './core-rpc.js';
import { WALLET } from '../network.js';
import type { UncacheTruth } from './utxocache.js';

export interface ReplacementTruth {
  replaced: MempoolTruth;
  replacement: MempoolTruth;
}

/** A replaceable payment from node 0's wallet, then a BIP125 fee bump of it. */
export async function replaceByFee(ctx: ConformanceContext, ledger: Ledger): Promise<ReplacementTruth> {
  const rpc = ctx.rpc(0);
  const to = await ctx.network.newAddress(0);
  // sendtoaddress(address, amount, comment, comment_to, subtractfeefromamount, replaceable)
  const first = await walletCall<string>(rpc, WALLET, 'sendtoaddress', to, 1, '', '', false, true);
  const replaced = await ledger.recordMempoolEntry(first);
  const bumped = await walletCall<{ txid: string }>(rpc, WALLET, 'bumpfee', first);
  const replacement = await ledger.recordMempoolEntry(bumped.txid);
  ledger.mempool.delete(first);
  ledger.removed.set(first, 'replaced');
  return { replaced, replacement };
}

export function verifyMempool(ctx: ConformanceContext, ledger: Ledger, replacement: ReplacementTruth | undefined, rejected: UncacheTruth | undefined): void {
  const added = ctx.check('mempool:added');
  if (added) {
    const events = ctx.events('mempool:added');
    added.fired = events.length;
    const truths = [...ledger.mempool.values(), ...(replacement ? [replacement.replaced] : [])];
    for (const truth of truths) {
      const event = events.find((e) => e.node === 0 && e.args.txid === truth.txid);
      if (!event) {
        added.missing('txid', `on node 0 for ${truth.txid}`);
        continue;
      }
      added.equal('txid', truth.txid, event.args.txid);
      added.equal('vsize', truth.vsize, event.args.vsize, 'getmempoolentry');
      added.equal('fee', truth.fee, event.args.fee, 'getmempoolentry fees.base');
    }
  }

  const replaced = ctx.check('mempool:replaced');
  if (replaced && replacement) {
    const events = ctx.events('mempool:replaced');
    replaced.fired = events.length;
    const event = events.find((e) => e.node === 0 && e.args.replaced_txid === replacement.replaced.txid);
    if (!event) replaced.missing('replaced_txid', `on node 0 for ${replacement.replaced.txid}`);
    else {
      const { replaced: old, replacement: bump } = replacement;
      replaced.equal('replaced_txid', old.txid, event.args.replaced_txid);
      replaced.equal('replaced_vsize', old.vsize, event.args.replaced_vsize, 'getmempoolentry of the original');
      replaced.equal('replaced_fee', old.fee, event.args.replaced_fee, 'getmempoolentry of the original');
      replaced.equal('replaced_entry_time', old.entry_time, event.args.replaced_entry_time, 'getmempoolentry of the original');
      replaced.equal('replacement_txid', bump.txid, event.args.replacement_txid, 'bumpfee');
      replaced.equal('replacement_vsize', bump.vsize, event.args.replacement_vsize, 'getmempoolentry of the bump');
      replaced.equal('replacement_fee', bump.fee, event.args.replacement_fee, 'getmempoolentry of the bump');
      if (replaced.argumentNames.includes('replaced_by_transaction')) {
        replaced.equal('replaced_by_transaction', true, event.args.replaced_by_transaction, 'bumpfee replaces with one transaction');
      }
    }
  }

  const removed = ctx.check('mempool:removed');
  if (removed) {
    const events = ctx.events('mempool:removed');
    removed.fired = events.length;
    const known = new Map([...ledger.mempool.values(), ...(replacement ? [replacement.replaced] : [])].map((t) => [t.txid, t]));
    for (const [txid, reason] of ledger.removed) {
      const truth = known.get(txid);
      if (!truth) continue;
      const event = events.find((e) => e.node === 0 && e.args.txid === txid);
      if (!event) {
        removed.missing('txid', `on node 0 for ${txid} (${reason})`);
        continue;
      }
      removed.equal('txid', txid, event.args.txid);
      removed.equal('reason', reason, event.args.reason);
      removed.equal('vsize', truth.vsize, event.args.vsize, 'getmempoolentry');
      removed.equal('fee', truth.fee, event.args.fee, 'getmempoolentry fees.base');
      removed.equal('entry_time', truth.entry_time, event.args.entry_time, 'getmempoolentry time');
    }
  }

  const rejectedCheck = ctx.check('mempool:rejected');
  if (rejectedCheck && rejected) {
    const events = ctx.events('mempool:rejected');
    rejectedCheck.fired = events.length;
    const event = events.find((e) => e.node === 0 && e.args.txid === rejected.txid);
    if (!event) rejectedCheck.missing('txid', `on node 0 for the unsigned ${rejected.txid}`);
    else {
      rejectedCheck.equal('txid', rejected.txid, event.args.txid);
      rejectedCheck.equal('reason', rejected.rejectReason, event.args.reason, 'testmempoolaccept reject-reason');
    }
  }
}
