/** Service bits a node advertises in `version` (Core's protocol.h ServiceFlags). */

export const SERVICE_FLAGS = {
  NETWORK: 1n << 0n,
  BLOOM: 1n << 2n,
  WITNESS: 1n << 3n,
  COMPACT_FILTERS: 1n << 6n,
  NETWORK_LIMITED: 1n << 10n,
  P2P_V2: 1n << 11n,
} as const;

export type ServiceFlagName = keyof typeof SERVICE_FLAGS;

export interface ServiceFlags {
  bits: bigint;
  /** Known flags, lowest bit first. */
  names: ServiceFlagName[];
  /** Bits set that Core has no name for, as bit numbers (Core prints them as UNKNOWN[2^n]). */
  unknownBits: number[];
}

export function decodeServiceFlags(bits: bigint): ServiceFlags {
  const names: ServiceFlagName[] = [];
  const unknownBits: number[] = [];
  const known = new Map<bigint, ServiceFlagName>(
    Object.entries(SERVICE_FLAGS).map(([name, bit]) => [bit, name as ServiceFlagName]),
  );
  for (let bit = 0; bit < 64; bit++) {
    const mask = 1n << BigInt(bit);
    if ((bits & mask) === 0n) continue;
    const name = known.get(mask);
    if (name) names.push(name);
    else unknownBits.push(bit);
  }
  return { bits, names, unknownBits };
}

/** `0xc09 NETWORK|WITNESS|NETWORK_LIMITED|P2P_V2` */
export function formatServiceFlags(flags: ServiceFlags): string {
  const labels = [...flags.names, ...flags.unknownBits.map((bit) => `UNKNOWN[2^${bit}]`)];
  const hex = `0x${flags.bits.toString(16)}`;
  return labels.length === 0 ? `${hex} (none)` : `${hex} ${labels.join('|')}`;
}
