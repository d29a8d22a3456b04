/**
 * The RPC answers the suite uses as its truth, typed here (only the fields compared). Methods the
 * harness's typed map (harness/rpc-types.ts) does not list go through one untyped door.
 */
import type { Rpc } from '../rpc.js';
import type { RpcPeerInfo } from '../rpc-types.js';

type Call = (method: string, ...params: unknown[]) => Promise<unknown>;

export function call<T>(rpc: Rpc, method: string, ...params: unknown[]): Promise<T> {
  return (rpc.call as unknown as Call).call(rpc, method, ...params) as Promise<T>;
}

export function walletCall<T>(rpc: Rpc, wallet: string, method: string, ...params: unknown[]): Promise<T> {
  const w = rpc.wallet as unknown as (wallet: string, method: string, ...params: unknown[]) => Promise<unknown>;
  return w.call(rpc, wallet, method, ...params) as Promise<T>;
}

export interface MempoolEntry {
  vsize: number;
  time: number;
  fees: { base: number };
}

export interface BlockTx {
  txid: string;
  vin: { coinbase?: string; txid?: string; vout?: number }[];
  vout: { value: number; n: number; scriptPubKey: { type: string } }[];
}

export interface Block {
  hash: string;
  height: number;
  nTx: number;
  tx: BlockTx[];
}

export interface TxOut {
  value: number;
  confirmations: number;
  coinbase: boolean;
}

export interface Unspent {
  txid: string;
  vout: number;
  amount: number;
  confirmations: number;
  address: string;
}

export type PeerInfo = RpcPeerInfo;
