/** Hex ⇄ bytes for payloads as tracers print them (lower- or upper-case, no separators). */

export function hexToBytes(hex: string): Uint8Array {
  if (hex.length % 2 !== 0) {
    throw new TypeError(`payload hex has an odd length (${hex.length}); a tracer printed half a byte`);
  }
  if (!/^[0-9a-fA-F]*$/.test(hex)) {
    throw new TypeError(`payload hex contains a non-hex character: ${JSON.stringify(hex.slice(0, 40))}`);
  }
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

export function bytesToHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** Hashes travel little-endian on the wire; RPC and explorers show them byte-reversed. */
export function toRpcHashHex(wireBytes: Uint8Array): string {
  return bytesToHex(Uint8Array.from(wireBytes).reverse());
}
