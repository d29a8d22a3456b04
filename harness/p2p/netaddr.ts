/** The 16-byte address field of `version` and `addr`: IPv6, or IPv4 mapped into ::ffff:0:0/96. */
import { isIPv4, isIPv6 } from 'node:net';

export function encodeHost(host: string): Buffer {
  const out = Buffer.alloc(16);
  if (isIPv4(host)) {
    out[10] = 0xff;
    out[11] = 0xff;
    host.split('.').forEach((part, i) => (out[12 + i] = Number(part)));
    return out;
  }
  if (!isIPv6(host)) throw new TypeError(`'${host}' is not an IPv4 or IPv6 address`);
  const [head = '', tail] = host.split('::');
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  all.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

export function decodeHost(bytes: Uint8Array): string {
  const b = Buffer.from(bytes);
  if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return Array.from(b.subarray(12, 16)).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  // Full form (no :: compression): decodeHost(encodeHost(x)) is an address equal to x, and encoding is byte-exact.
  return groups.join(':');
}
