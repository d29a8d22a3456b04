/** `ping` / `pong`: a 64-bit nonce; the pong echoes the ping's, which is how latency is measured. */
import { PayloadReader, readUntilStop, type DecodeStop } from './reader.js';

export interface NoncePayload {
  type: 'ping' | 'pong';
  nonce?: bigint;
  stop?: DecodeStop;
}

export function decodeNonce(type: 'ping' | 'pong', reader: PayloadReader): NoncePayload {
  return readUntilStop<NoncePayload>({ type }, (p) => {
    p.nonce = reader.u64le('nonce');
  });
}

/** As Core's debug log prints nonces: the 64-bit value in hex. */
export function formatNonce(nonce: bigint): string {
  return `0x${nonce.toString(16).padStart(16, '0')}`;
}
