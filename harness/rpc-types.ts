/** Typed results of the RPC calls the harness uses (the fields we read; Core returns more). */

export interface BlockchainInfo {
  chain: string;
  blocks: number;
  headers: number;
  bestblockhash: string;
  initialblockdownload: boolean;
}

export interface NetworkInfo {
  version: number;
  subversion: string;
  protocolversion: number;
  connections: number;
  connections_in: number;
  connections_out: number;
  localservicesnames?: string[];
}

export interface RpcPeerInfo {
  id: number;
  addr: string;
  addrbind?: string;
  network?: string;
  inbound: boolean;
  connection_type: string;
  transport_protocol_type?: string;
  subver: string;
  version: number;
  bytessent_per_msg: Record<string, number>;
  bytesrecv_per_msg: Record<string, number>;
  /** UNIX epoch seconds when the connection was established. */
  conntime?: number;
  /** Permission flags (noban, addr, …) from -whitelist/-whitebind. */
  permissions?: string[];
}

export interface AddPeerAddressResult {
  success: boolean;
  error?: string;
}

export interface MempoolInfo {
  size: number;
  bytes: number;
}

export interface CreateWalletResult {
  name: string;
}

/** Method name → [parameters, result]. Only what the harness calls is listed, so typos fail to compile. */
export interface RpcMethods {
  getblockchaininfo: [[], BlockchainInfo];
  getnetworkinfo: [[], NetworkInfo];
  getpeerinfo: [[], RpcPeerInfo[]];
  getconnectioncount: [[], number];
  getbestblockhash: [[], string];
  getblockcount: [[], number];
  getblockhash: [[height: number], string];
  addnode: [[node: string, command: 'add' | 'remove' | 'onetry', v2transport?: boolean], null];
  /** Regtest, test-only (v22+); v2transport since v26, required there. */
  addconnection: [[address: string, connection_type: string, v2transport?: boolean], { address: string; connection_type: string }];
  disconnectnode: [[address: string, nodeid?: number], null];
  setnetworkactive: [[state: boolean], boolean];
  generatetoaddress: [[nblocks: number, address: string], string[]];
  waitforblock: [[blockhash: string, timeout: number], { hash: string; height: number }];
  waitforblockheight: [[height: number, timeout: number], { hash: string; height: number }];
  getrawmempool: [[], string[]];
  getmempoolinfo: [[], MempoolInfo];
  listwallets: [[], string[]];
  createwallet: [[wallet_name: string], CreateWalletResult];
  loadwallet: [[filename: string], CreateWalletResult];
  getnewaddress: [[label?: string, address_type?: string], string];
  getbalance: [[], number];
  sendtoaddress: [[address: string, amount: number], string];
  getrawtransaction: [[txid: string, verbose: boolean], { txid: string; hash: string }];
  getmempoolentry: [[txid: string], { wtxid: string; vsize: number }];
  /** Wallet `send` (v21+); with options.add_to_wallet = false it returns the signed tx without broadcasting it. */
  send: [[outputs: Record<string, number>[], conf_target: null, estimate_mode: string, fee_rate: null, options: { add_to_wallet: boolean }], { complete: boolean; hex?: string; txid?: string }];
  uptime: [[], number];
  // Hidden test-only RPCs (regtest), used by scenarios to set up or provoke P2P behaviour.
  addpeeraddress: [[address: string, port: number, tried?: boolean], AddPeerAddressResult];
  /** 0 returns to the system clock. */
  setmocktime: [[timestamp: number], null];
  /** Since v26: send a raw P2P message (payload hex, no header) to a peer. */
  sendmsgtopeer: [[peer_id: number, msg_type: string, msg: string], Record<string, never>];
  stop: [[], string];
}

export type RpcMethod = keyof RpcMethods;
export type RpcParams<M extends RpcMethod> = RpcMethods[M][0];
export type RpcResult<M extends RpcMethod> = RpcMethods[M][1];
