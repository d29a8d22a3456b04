/**
 * The one event shape every tracer emits (USDT through bpftrace, or debug.log lines),
 * named after Bitcoin Core's tracepoints. Arguments are typed per tracepoint and use the
 * argument names of Core's doc/tracing.md. Hashes are hex in RPC byte order.
 */

/** Connection types as Core's ConnectionTypeAsString() spells them. */
export type ConnectionType =
  | 'inbound'
  | 'outbound-full-relay'
  | 'manual'
  | 'feeler'
  | 'block-relay-only'
  | 'addr-fetch'
  | 'private-broadcast';

/** net:inbound_message / net:outbound_message. */
export interface MessageArgs {
  peer_id: number;
  peer_addr: string;
  peer_conn_type: ConnectionType | string;
  msg_type: string;
  msg_size: number;
  /** Payload bytes as hex, when the tracer captured them (USDT only). */
  msg?: string;
  /** How many payload bytes were captured; less than msg_size means the payload was cut. */
  msg_captured?: number;
  /** Test peers only (source 'peer'): the bytes went out with sendRaw and need not be a valid message. */
  raw?: boolean;
}

/** net:inbound_connection / net:outbound_connection. */
export interface ConnectionArgs {
  peer_id: number;
  peer_addr: string;
  peer_conn_type: ConnectionType | string;
  /** Core's Network enum: 0 unroutable (regtest loopback), 1 IPv4, 2 IPv6, 3 onion, 4 I2P, 5 CJDNS, 6 internal. */
  peer_network: number;
  /** Inbound (or outbound) connection count after this connection was added. */
  existing_connections: number;
}

/** net:evicted_inbound_connection / net:closed_connection. */
export interface ClosedConnectionArgs {
  peer_id: number;
  peer_addr: string;
  peer_conn_type: ConnectionType | string;
  peer_network: number;
  /** UNIX epoch seconds when the connection was established. */
  time_established: number;
}

export interface MisbehavingConnectionArgs {
  peer_id: number;
  message: string;
}

export interface BlockConnectedArgs {
  block_hash: string;
  height: number;
  transactions: number;
  inputs: number;
  sigops: number;
  /** Raw duration as Core passed it: µs up to v24, ns from v25 (see the catalog). */
  duration: number;
}

export interface UtxoCacheFlushArgs {
  duration_us: number;
  mode: number;
  coins_count: number;
  coins_mem_usage: number;
  is_flush_for_prune: boolean;
}

export interface UtxoCacheCoinArgs {
  txid: string;
  vout: number;
  height: number;
  value: number;
  is_coinbase: boolean;
}

export interface SelectedCoinsArgs {
  wallet_name: string;
  algorithm: string;
  target: number;
  waste: number;
  selected_value: number;
}

export interface NormalCreateTxArgs {
  wallet_name: string;
  success: boolean;
  fee: number;
  change_pos: number;
}

export interface AttemptingApsArgs {
  wallet_name: string;
}

export interface ApsCreateTxArgs {
  wallet_name: string;
  use_aps: boolean;
  success: boolean;
  fee: number;
  change_pos: number;
}

export interface MempoolAddedArgs {
  txid: string;
  vsize: number;
  fee: number;
}

export interface MempoolRemovedArgs {
  txid: string;
  reason: string;
  vsize: number;
  fee: number;
  entry_time: number;
}

export interface MempoolReplacedArgs {
  replaced_txid: string;
  replaced_vsize: number;
  replaced_fee: number;
  replaced_entry_time: number;
  replacement_txid: string;
  replacement_vsize: number;
  replacement_fee: number;
  /** Added in v29; absent on binaries whose probe has 7 arguments. */
  replaced_by_transaction?: boolean;
}

export interface MempoolRejectedArgs {
  txid: string;
  reason: string;
}

/** Tracepoint name → typed argument record. */
export interface TracepointArgsMap {
  'net:inbound_message': MessageArgs;
  'net:outbound_message': MessageArgs;
  'net:inbound_connection': ConnectionArgs;
  'net:outbound_connection': ConnectionArgs;
  'net:evicted_inbound_connection': ClosedConnectionArgs;
  'net:misbehaving_connection': MisbehavingConnectionArgs;
  'net:closed_connection': ClosedConnectionArgs;
  'validation:block_connected': BlockConnectedArgs;
  'utxocache:flush': UtxoCacheFlushArgs;
  'utxocache:add': UtxoCacheCoinArgs;
  'utxocache:spent': UtxoCacheCoinArgs;
  'utxocache:uncache': UtxoCacheCoinArgs;
  'coin_selection:selected_coins': SelectedCoinsArgs;
  'coin_selection:normal_create_tx_internal': NormalCreateTxArgs;
  'coin_selection:attempting_aps_create_tx': AttemptingApsArgs;
  'coin_selection:aps_create_tx_internal': ApsCreateTxArgs;
  'mempool:added': MempoolAddedArgs;
  'mempool:removed': MempoolRemovedArgs;
  'mempool:replaced': MempoolReplacedArgs;
  'mempool:rejected': MempoolRejectedArgs;
}

export type TracepointName = keyof TracepointArgsMap;

/** `peer`: a test peer's own sends and receives (harness/p2p; its lane is tracing/peer-lanes.ts). */
export type TraceSource = 'usdt' | 'log' | 'peer';

interface EventBase {
  /** µs since the network (or trace) started. */
  t: number;
  /** Harness index of the node that fired the tracepoint. */
  node: number;
  /** Harness index of the node on the other end of the connection, or null (not a harness node, or no peer). */
  peer_node: number | null;
  source: TraceSource;
}

/** A traced event; discriminated by `tracepoint`, so `args` narrows with it. */
export type TraceEvent<N extends TracepointName = TracepointName> = N extends TracepointName
  ? EventBase & { tracepoint: N; args: TracepointArgsMap[N] }
  : never;

export type MessageEvent = TraceEvent<'net:inbound_message' | 'net:outbound_message'>;

export const MESSAGE_TRACEPOINTS = ['net:inbound_message', 'net:outbound_message'] as const;

export function isMessageEvent(event: TraceEvent): event is MessageEvent {
  return event.tracepoint === 'net:inbound_message' || event.tracepoint === 'net:outbound_message';
}

/** Direction of a message event seen from the node that fired it. */
export function direction(event: MessageEvent): 'in' | 'out' {
  return event.tracepoint === 'net:inbound_message' ? 'in' : 'out';
}
