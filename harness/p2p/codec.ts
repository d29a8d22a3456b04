/**
 * Typed message ⇄ payload bytes, for the messages of messages.ts. Decoding reads with the
 * trace decoders' PayloadReader (tracing/decode/reader.ts: Core's CompactSize rules), and
 * `encodePayload(decodePayload(c, p))` gives back `p` byte for byte.
 */
import { PayloadReader } from '../../tracing/decode/reader.js';
import { displayHash } from './hash.js';
import type { InvEntry, NetAddress, P2PMessage, VersionMessage } from './messages.js';
import { decodeHost, encodeHost } from './netaddr.js';
import { readBlockHeader, readTransaction, serializeBlockHeader, writeTransaction } from './tx.js';
import { PayloadWriter } from './writer.js';

const EMPTY = new Set(['verack', 'wtxidrelay', 'sendaddrv2', 'getaddr', 'sendheaders', 'mempool']);

export function encodePayload(message: P2PMessage): Buffer {
  const w = new PayloadWriter();
  switch (message.type) {
    case 'version':
      return encodeVersion(w, message);
    case 'verack':
    case 'wtxidrelay':
    case 'sendaddrv2':
    case 'getaddr':
    case 'sendheaders':
    case 'mempool':
      return Buffer.alloc(0);
    case 'sendcmpct':
      return w.bool(message.announce).u64le(message.version).toBuffer();
    case 'feefilter':
      return w.i64le(message.feeRate).toBuffer();
    case 'ping':
    case 'pong':
      return w.u64le(message.nonce).toBuffer();
    case 'addr':
      w.compactSize(message.addresses.length);
      for (const a of message.addresses) writeNetAddress(w.u32le(a.time), a);
      return w.toBuffer();
    case 'addrv2':
      w.compactSize(message.addresses.length);
      for (const a of message.addresses) w.u32le(a.time).compactSize(Number(a.services)).u8(a.networkId).varBytes(a.address).u16be(a.port);
      return w.toBuffer();
    case 'inv':
    case 'getdata':
    case 'notfound':
      w.compactSize(message.inventory.length);
      for (const entry of message.inventory) w.u32le(entry.invType).bytes(hashBytes(entry.hash));
      return w.toBuffer();
    case 'getheaders':
    case 'getblocks':
      w.u32le(message.version).compactSize(message.locator.length);
      for (const hash of message.locator) w.bytes(hashBytes(hash));
      return w.bytes(hashBytes(message.hashStop)).toBuffer();
    case 'headers':
      w.compactSize(message.headers.length);
      for (const header of message.headers) w.bytes(serializeBlockHeader(header)).compactSize(0);
      return w.toBuffer();
    case 'block':
      w.bytes(serializeBlockHeader(message.header)).compactSize(message.transactions.length);
      for (const tx of message.transactions) writeTransaction(w, tx);
      return w.toBuffer();
    case 'tx':
      return writeTransaction(w, message.tx).toBuffer();
    case 'unknown':
      return Buffer.from(message.payload);
  }
}

/**
 * The typed message for a received payload. Commands without a decoder, and payloads that do not
 * decode (a malformed or truncated message), come back as `unknown` with the raw bytes.
 */
export function decodePayload(command: string, payload: Uint8Array): P2PMessage {
  try {
    const message = decodeKnown(command, new PayloadReader(payload, payload.length));
    if (message) return message;
  } catch {
    // falls through to unknown: the raw bytes are still there for the test to inspect
  }
  return { type: 'unknown', command, payload: Buffer.from(payload) };
}

function decodeKnown(command: string, r: PayloadReader): P2PMessage | undefined {
  const message = decodeFields(command, r);
  if (message && r.remaining !== 0) r.malformed(command, r.position, `${r.remaining} bytes after the end of the message`);
  return message;
}

function decodeFields(command: string, r: PayloadReader): P2PMessage | undefined {
  if (EMPTY.has(command)) return { type: command } as P2PMessage;
  switch (command) {
    case 'version':
      return decodeVersion(r);
    case 'sendcmpct':
      return { type: 'sendcmpct', announce: readStrictBool(r, 'announce'), version: r.u64le('version') };
    case 'feefilter':
      return { type: 'feefilter', feeRate: r.i64le('fee rate') };
    case 'ping':
    case 'pong':
      return { type: command, nonce: r.u64le('nonce') };
    case 'addr':
      return { type: 'addr', addresses: repeat(r, 'addr count', () => ({ time: r.u32le('time'), ...readNetAddress(r) })) };
    case 'addrv2':
      return {
        type: 'addrv2',
        addresses: repeat(r, 'addr count', () => ({
          time: r.u32le('time'),
          services: BigInt(r.compactSize('services')),
          networkId: r.u8('network id'),
          address: Buffer.from(r.take('address', r.compactSize('address length'))),
          port: r.u16be('port'),
        })),
      };
    case 'inv':
    case 'getdata':
    case 'notfound':
      return { type: command, inventory: repeat<InvEntry>(r, 'inventory count', () => ({ invType: r.u32le('inv type'), hash: displayHash(r.take('inv hash', 32)) })) };
    case 'getheaders':
    case 'getblocks': {
      const version = r.u32le('version');
      const locator = repeat(r, 'locator count', () => displayHash(r.take('locator hash', 32)));
      return { type: command, version, locator, hashStop: displayHash(r.take('hash stop', 32)) };
    }
    case 'headers':
      return {
        type: 'headers',
        headers: repeat(r, 'headers count', () => {
          const header = readBlockHeader(r);
          const txCount = r.compactSize('header tx count');
          if (txCount !== 0) r.malformed('header tx count', r.position - 1, `${txCount} (must be 0 in headers)`);
          return header;
        }),
      };
    case 'block': {
      const header = readBlockHeader(r);
      return { type: 'block', header, transactions: repeat(r, 'tx count', () => readTransaction(r)) };
    }
    case 'tx':
      return { type: 'tx', tx: readTransaction(r) };
    default:
      return undefined;
  }
}

function encodeVersion(w: PayloadWriter, v: VersionMessage): Buffer {
  w.i32le(v.protocolVersion).u64le(v.services).i64le(v.timestamp);
  writeNetAddress(w, v.addrRecv);
  writeNetAddress(w, v.addrFrom);
  w.u64le(v.nonce).varString(v.userAgent).i32le(v.startHeight);
  if (v.relay !== undefined) w.bool(v.relay);
  return w.toBuffer();
}

function decodeVersion(r: PayloadReader): VersionMessage {
  const v: VersionMessage = {
    type: 'version',
    protocolVersion: r.i32le('protocol version'),
    services: r.u64le('services'),
    timestamp: r.i64le('timestamp'),
    addrRecv: readNetAddress(r),
    addrFrom: readNetAddress(r),
    nonce: r.u64le('nonce'),
    userAgent: Buffer.from(r.take('user agent', r.compactSize('user agent length'))).toString('utf8'),
    startHeight: r.i32le('start height'),
  };
  if (r.remaining > 0) v.relay = readStrictBool(r, 'relay');
  return v;
}

function writeNetAddress(w: PayloadWriter, a: NetAddress): PayloadWriter {
  return w.u64le(a.services).bytes(encodeHost(a.host)).u16be(a.port);
}

function readNetAddress(r: PayloadReader): NetAddress {
  return { services: r.u64le('services'), host: decodeHost(r.take('ip', 16)), port: r.u16be('port') };
}

/** A bool byte other than 0/1 would not re-encode byte-exact: keep such a payload raw. */
function readStrictBool(r: PayloadReader, field: string): boolean {
  const at = r.position;
  const b = r.u8(field);
  if (b > 1) r.malformed(field, at, `bool byte ${b}`);
  return b === 1;
}

function repeat<T>(r: PayloadReader, field: string, read: () => T): T[] {
  const count = r.compactSize(field);
  const items: T[] = [];
  for (let i = 0; i < count; i++) items.push(read());
  return items;
}

function hashBytes(hash: string): Buffer {
  if (!/^[0-9a-fA-F]{64}$/.test(hash)) throw new TypeError(`'${hash}' is not a 32-byte hash in hex`);
  return Buffer.from(hash, 'hex').reverse();
}
