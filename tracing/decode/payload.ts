/** One entry point from (msg_type, payload hex) to a typed, possibly partial, decoded payload. */
import { decodeFeeFilter, type FeeFilterPayload } from './feefilter.js';
import { decodeHeaders, type HeadersPayload } from './headers.js';
import { hexToBytes } from './hex.js';
import { decodeInventory, type InventoryPayload } from './inventory.js';
import { decodeNonce, type NoncePayload } from './nonce.js';
import { PayloadReader } from './reader.js';
import { decodeSendCmpct, type SendCmpctPayload } from './sendcmpct.js';
import { decodeVersion, type VersionPayload } from './version.js';

export type DecodedPayload =
  | VersionPayload
  | SendCmpctPayload
  | FeeFilterPayload
  | NoncePayload
  | InventoryPayload
  | HeadersPayload;

export const DECODABLE_MESSAGE_TYPES = [
  'version',
  'sendcmpct',
  'feefilter',
  'ping',
  'pong',
  'inv',
  'getdata',
  'notfound',
  'headers',
] as const;

export type DecodableMessageType = (typeof DECODABLE_MESSAGE_TYPES)[number];

export function isDecodableMessageType(msgType: string): msgType is DecodableMessageType {
  return (DECODABLE_MESSAGE_TYPES as readonly string[]).includes(msgType);
}

/**
 * Decodes what can be decoded. Returns undefined for message types without a decoder.
 * @param declaredSize msg_size; lets the decoder tell a cut capture from a malformed message.
 * @throws TypeError when `hex` is not hex (a tracer bug, not a peer's).
 */
export function decodePayload(msgType: string, hex: string, declaredSize?: number): DecodedPayload | undefined {
  if (!isDecodableMessageType(msgType)) return undefined;
  const reader = new PayloadReader(hexToBytes(hex), declaredSize);
  switch (msgType) {
    case 'version':
      return decodeVersion(reader);
    case 'sendcmpct':
      return decodeSendCmpct(reader);
    case 'feefilter':
      return decodeFeeFilter(reader);
    case 'ping':
    case 'pong':
      return decodeNonce(msgType, reader);
    case 'inv':
    case 'getdata':
    case 'notfound':
      return decodeInventory(msgType, reader);
    case 'headers':
      return decodeHeaders(reader);
  }
}
