/**
 * The P2P messages a test peer speaks, as typed objects. 64-bit fields are bigint; hashes are
 * RPC hex (byte-reversed); addresses are text. Anything else travels as `unknown` with its raw
 * payload, so every frame round-trips.
 */
import type { BlockHeader, Transaction } from './tx.js';

/** An address as `version` carries it (services, then IPv6 / IPv4-mapped address and port). */
export interface NetAddress {
  services: bigint;
  /** IPv4 dotted quad or IPv6 text. */
  host: string;
  port: number;
}

export interface VersionMessage {
  type: 'version';
  protocolVersion: number;
  services: bigint;
  /** UNIX seconds. */
  timestamp: bigint;
  addrRecv: NetAddress;
  addrFrom: NetAddress;
  nonce: bigint;
  userAgent: string;
  startHeight: number;
  /** Absent: the message ends before the relay byte (BIP 37 peers then count as relaying). */
  relay?: boolean;
}

export interface TimedAddress extends NetAddress {
  time: number;
}

/** addrv2 (BIP 155): the network id and the raw address bytes of that network. */
export interface AddrV2Entry {
  time: number;
  services: bigint;
  /** 1 IPv4, 2 IPv6, 4 TorV3, 5 I2P, 6 CJDNS. */
  networkId: number;
  address: Buffer;
  port: number;
}

/** Inventory types of protocol.h (MSG_TX 1, MSG_BLOCK 2, MSG_WTX 5, MSG_WITNESS_* with bit 30). */
export const INV = { TX: 1, BLOCK: 2, FILTERED_BLOCK: 3, CMPCT_BLOCK: 4, WTX: 5, WITNESS_TX: 0x40000001, WITNESS_BLOCK: 0x40000002 } as const;

export interface InvEntry {
  invType: number;
  hash: string;
}

export type P2PMessage =
  | VersionMessage
  | { type: 'verack' }
  | { type: 'wtxidrelay' }
  | { type: 'sendaddrv2' }
  | { type: 'getaddr' }
  | { type: 'sendheaders' }
  | { type: 'mempool' }
  | { type: 'sendcmpct'; announce: boolean; version: bigint }
  | { type: 'feefilter'; feeRate: bigint }
  | { type: 'ping'; nonce: bigint }
  | { type: 'pong'; nonce: bigint }
  | { type: 'addr'; addresses: TimedAddress[] }
  | { type: 'addrv2'; addresses: AddrV2Entry[] }
  | { type: 'inv'; inventory: InvEntry[] }
  | { type: 'getdata'; inventory: InvEntry[] }
  | { type: 'notfound'; inventory: InvEntry[] }
  | { type: 'getheaders'; version: number; locator: string[]; hashStop: string }
  | { type: 'getblocks'; version: number; locator: string[]; hashStop: string }
  | { type: 'headers'; headers: BlockHeader[] }
  | { type: 'block'; header: BlockHeader; transactions: Transaction[] }
  | { type: 'tx'; tx: Transaction }
  | { type: 'unknown'; command: string; payload: Buffer };

export type P2PMessageType = P2PMessage['type'];

/** The message object of one type: `MessageOf<'pong'>` is `{ type: 'pong'; nonce: bigint }`. */
export type MessageOf<T extends P2PMessageType> = Extract<P2PMessage, { type: T }>;

/** The wire command of a message (`unknown` carries its own). */
export function commandOf(message: P2PMessage): string {
  return message.type === 'unknown' ? message.command : message.type;
}
