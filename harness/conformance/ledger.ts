/**
 * The truth the validation, utxocache and mempool checks compare with, recorded by the actions
 * that made Core fire them: each block mined (getblock, getblocktemplate's sigops, the wall time
 * of the RPC that connected it), each coin created or spent, each mempool entry.
 */
import type { ConformanceContext } from './context.js';
import { call, type Block, type MempoolEntry, type TxOut } from './core-rpc.js';
import { sats } from './check.js';

export interface BlockTruth {
  hash: string;
  height: number;
  transactions: number;
  /** Inputs of every transaction, the coinbase's one included (ConnectBlock counts tx.vin.size() for each). */
  inputs: number;
  /** Sigops cost from getblocktemplate for the block's transactions; the coinbase pays to P2WPKH (0). Unknown: undefined. */
  sigops: number | undefined;
  /** Wall time of the generatetoaddress call that connected it, in ns: an upper bound for the duration. */
  elapsedNs: number;
}

export interface CoinTruth {
  txid: string;
  vout: number;
  height: number;
  value: number;
  is_coinbase: boolean;
}

export interface MempoolTruth {
  txid: string;
  vsize: number;
  fee: number;
  entry_time: number;
}

export const coinKey = (txid: string, vout: number) => `${txid}:${vout}`;

export class Ledger {
  readonly blocks = new Map<string, BlockTruth>();
  readonly added = new Map<string, CoinTruth>();
  readonly spent = new Map<string, CoinTruth>();
  readonly mempool = new Map<string, MempoolTruth>();
  /** txid → why it left the mempool ("block", "replaced"), as the action decided. */
  readonly removed = new Map<string, string>();

  constructor(private readonly ctx: ConformanceContext) {}

  /** getmempoolentry for a transaction just submitted on node 0. */
  async recordMempoolEntry(txid: string): Promise<MempoolTruth> {
    const entry = await call<MempoolEntry>(this.ctx.rpc(0), 'getmempoolentry', txid);
    const truth = { txid, vsize: entry.vsize, fee: sats(entry.fees.base), entry_time: entry.time };
    this.mempool.set(txid, truth);
    return truth;
  }

  /** Mine on node 0 to its wallet and record every block, coin created and coin spent; returns the hashes. */
  async mine(count: number): Promise<string[]> {
    const rpc = this.ctx.rpc(0);
    const inMempool = await call<string[]>(rpc, 'getrawmempool');
    // Sigops and the coins the mempool spends are read before the block exists.
    const template = inMempool.length > 0 ? await call<{ transactions: { txid: string; sigops: number }[] }>(rpc, 'getblocktemplate', { rules: ['segwit'] }) : { transactions: [] };
    const sigopsOf = new Map(template.transactions.map((t) => [t.txid, t.sigops]));
    const tip = await call<number>(rpc, 'getblockcount');
    const before = new Map<string, CoinTruth>();
    for (const txid of inMempool) {
      const tx = await call<{ vin: { txid: string; vout: number }[] }>(rpc, 'getrawtransaction', txid, true);
      for (const input of tx.vin) {
        const out = await call<TxOut | null>(rpc, 'gettxout', input.txid, input.vout, false);
        if (out) before.set(coinKey(input.txid, input.vout), { txid: input.txid, vout: input.vout, height: tip - out.confirmations + 1, value: sats(out.value), is_coinbase: out.coinbase });
      }
    }
    const address = await this.ctx.network.newAddress(0);
    const started = process.hrtime.bigint();
    const hashes = await call<string[]>(rpc, 'generatetoaddress', count, address);
    const elapsedNs = Number(process.hrtime.bigint() - started);
    for (const hash of hashes) {
      const block = await call<Block>(rpc, 'getblock', hash, 2);
      const others = block.tx.slice(1);
      const sigops = others.every((t) => sigopsOf.has(t.txid)) ? others.reduce((sum, t) => sum + sigopsOf.get(t.txid)!, 0) : undefined;
      this.blocks.set(hash, {
        hash,
        height: block.height,
        transactions: block.nTx,
        inputs: block.tx.reduce((sum, t) => sum + t.vin.length, 0),
        sigops,
        elapsedNs,
      });
      const createdHere = new Map<string, CoinTruth>();
      block.tx.forEach((tx, index) => {
        for (const out of tx.vout) {
          if (out.scriptPubKey.type === 'nulldata') continue; // unspendable: never added to the cache
          const coin = { txid: tx.txid, vout: out.n, height: block.height, value: sats(out.value), is_coinbase: index === 0 };
          this.added.set(coinKey(tx.txid, out.n), coin);
          createdHere.set(coinKey(tx.txid, out.n), coin);
        }
      });
      for (const tx of others) {
        this.removed.set(tx.txid, this.removed.get(tx.txid) ?? 'block');
        for (const input of tx.vin) {
          const key = coinKey(input.txid!, input.vout!);
          const coin = before.get(key) ?? createdHere.get(key);
          if (coin) this.spent.set(key, coin);
        }
      }
    }
    await this.ctx.network.syncBlocks();
    return hashes;
  }
}
