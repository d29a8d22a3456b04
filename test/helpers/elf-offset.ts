import { execFileSync } from 'node:child_process';

/** The file offset of a virtual address, from `readelf -S` (an independent reading of the section table). */
export async function offsetOf(file: string, address: bigint): Promise<number> {
  const text = execFileSync('readelf', ['-SW', file], { encoding: 'utf8' });
  for (const line of text.split('\n')) {
    const m = /\]\s+\S+\s+\S+\s+([0-9a-f]{16})\s+([0-9a-f]+)\s+([0-9a-f]+)/.exec(line);
    if (!m) continue;
    const [addr, offset, size] = [BigInt(`0x${m[1]}`), BigInt(`0x${m[2]}`), BigInt(`0x${m[3]}`)];
    if (addr !== 0n && address >= addr && address < addr + size) return Number(address - addr + offset);
  }
  throw new Error(`no section of ${file} holds address 0x${address.toString(16)}`);
}
