/** Bitcoin's double SHA-256: message checksums, txid/wtxid, block hashes. */
import { createHash } from 'node:crypto';

export function sha256d(bytes: Uint8Array): Buffer {
  const once = createHash('sha256').update(bytes).digest();
  return createHash('sha256').update(once).digest();
}

/** A hash as RPC and explorers print it: the wire bytes reversed, in hex. */
export function displayHash(wire: Uint8Array): string {
  return Buffer.from(wire).reverse().toString('hex');
}

/** RPC hex (block hash, txid) back to the 32 wire bytes. */
export function wireHash(display: string): Buffer {
  if (!/^[0-9a-fA-F]{64}$/.test(display)) throw new TypeError(`'${display}' is not a 32-byte hash in hex`);
  return Buffer.from(display, 'hex').reverse();
}
