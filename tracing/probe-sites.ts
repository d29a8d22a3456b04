/**
 * Is each probe site still the NOP the compiler put there? A USDT probe is a NOP at the note's
 * location; the kernel puts its breakpoint (int3 on x86-64) in the traced process's copy of the
 * page, never in the file. A file that holds int3 at a probe site was modified (seen here: a
 * shared v29.0rc3 bitcoind with int3 at net:outbound_message and net:outbound_connection); the
 * kernel then refuses that uprobe (bpftrace 0.23: "cannot attach uprobe, Invalid argument") or,
 * on bpftrace 0.17, the probe silently never fires — a trace with no outbound messages.
 */
import { open } from 'node:fs/promises';
import type { ProbeNote } from './elf-notes.js';

export interface DamagedSite {
  tracepoint: string;
  location: string;
  /** The byte found, e.g. "cc". */
  found: string;
}

const X86_64 = 62;
const NOP_X86 = 0x90;

/** (address, file offset, size) of every section with an address: ELF64 little-endian only. */
async function sections(file: Awaited<ReturnType<typeof open>>): Promise<{ addr: bigint; offset: bigint; size: bigint }[] | undefined> {
  const header = Buffer.alloc(64);
  await file.read(header, 0, 64, 0);
  if (header.readUInt32BE(0) !== 0x7f454c46 || header[4] !== 2 || header[5] !== 1 || header.readUInt16LE(18) !== X86_64) return undefined;
  const tableOffset = header.readBigUInt64LE(0x28);
  const entrySize = header.readUInt16LE(0x3a);
  const count = header.readUInt16LE(0x3c);
  if (tableOffset === 0n || entrySize < 64 || count === 0) return undefined;
  const table = Buffer.alloc(entrySize * count);
  await file.read(table, 0, table.length, Number(tableOffset));
  return Array.from({ length: count }, (_, i) => ({
    addr: table.readBigUInt64LE(i * entrySize + 0x10),
    offset: table.readBigUInt64LE(i * entrySize + 0x18),
    size: table.readBigUInt64LE(i * entrySize + 0x20),
  })).filter((s) => s.addr !== 0n);
}

/** Probe sites of `notes` that do not hold a NOP in `elfPath` (x86-64; other machines are not checked). */
export async function damagedProbeSites(elfPath: string, notes: readonly ProbeNote[]): Promise<DamagedSite[]> {
  const file = await open(elfPath, 'r');
  try {
    const table = await sections(file);
    if (!table) return [];
    const damaged: DamagedSite[] = [];
    const byte = Buffer.alloc(1);
    for (const note of notes) {
      const location = BigInt(note.location);
      const section = table.find((s) => location >= s.addr && location < s.addr + s.size);
      if (!section) continue;
      await file.read(byte, 0, 1, Number(location - section.addr + section.offset));
      if (byte[0] !== NOP_X86) damaged.push({ tracepoint: `${note.provider}:${note.name}`, location: note.location, found: byte[0]!.toString(16).padStart(2, '0') });
    }
    return damaged;
  } finally {
    await file.close();
  }
}
