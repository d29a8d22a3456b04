/** The 26-byte address record inside `version` (services, IPv6 or IPv4-mapped address, port). */
import type { PayloadReader } from './reader.js';
import { decodeServiceFlags, type ServiceFlags } from './services.js';

export interface VersionAddress {
  services: ServiceFlags;
  /** `127.0.0.1:18444`, `[2001:db8::1]:8333`; Core sends all zeros (`[::]:0`) for non-routable peers. */
  address: string;
}

export function readVersionAddress(reader: PayloadReader, field: string): VersionAddress {
  const services = decodeServiceFlags(reader.u64le(`${field}.services`));
  const ip = reader.take(`${field}.ip`, 16);
  const port = reader.u16be(`${field}.port`);
  return { services, address: formatEndpoint(ip, port) };
}

function formatEndpoint(ip: Uint8Array, port: number): string {
  const ipv4Mapped = ip.subarray(0, 10).every((b) => b === 0) && ip[10] === 0xff && ip[11] === 0xff;
  if (ipv4Mapped) return `${Array.from(ip.subarray(12)).join('.')}:${port}`;
  return `[${formatIpv6(ip)}]:${port}`;
}

/** RFC 5952 text: lower-case groups, the longest run of zero groups collapsed to `::`. */
function formatIpv6(ip: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((ip[i] ?? 0) << 8) | (ip[i + 1] ?? 0));
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength && j - i >= 2) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}
