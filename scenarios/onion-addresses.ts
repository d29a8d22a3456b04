/**
 * Made-up Tor v3 addresses for seeding addrman. Onion is unreachable on a harness node (no Tor
 * proxy), so Core stores and relays them but never dials them — unlike routable IPv4 addresses,
 * which its automatic outbound connections would try on the real internet.
 */
import { createHash } from 'node:crypto';

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
const ONION_V3_VERSION = 3;

/** The n-th address: a fixed 32-byte key, the spec's 2-byte SHA3 checksum, version 3 (rend-spec-v3 §6). */
export function testOnionAddress(n: number): string {
  const key = Buffer.alloc(32, (n % 255) + 1);
  key.writeUInt32BE(n, 0);
  const version = Buffer.from([ONION_V3_VERSION]);
  const checksum = createHash('sha3-256').update(Buffer.concat([Buffer.from('.onion checksum'), key, version])).digest().subarray(0, 2);
  return `${base32(Buffer.concat([key, checksum, version]))}.onion`;
}

function base32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1; // keep only the bits not written yet
  }
  return bits > 0 ? out + BASE32[(buffer << (5 - bits)) & 31] : out;
}
