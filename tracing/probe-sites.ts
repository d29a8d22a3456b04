/**
 * Is every USDT probe site still the `nop` that sys/sdt.h compiled there? A tracer puts its own
 * breakpoint over that nop at attach time; if the file itself already holds something else (an
 * `int3` written into it, say), the kernel refuses the uprobe — and a semaphore-gated tracepoint
 * (Core ≥ v29) then never fires, silently: its semaphore is only raised by an installed uprobe.
 * The shared v29.0rc3 build once arrived with two such bytes (outbound_connection,
 * outbound_message), and every scenario "saw" nodes that never sent anything.
 *
 * Only x86 (32 and 64 bit) is checked, where sdt.h's nop is the single byte 0x90.
 */
import { readFile } from 'node:fs/promises';
import type { ProbeNote } from './elf-notes.js';

export interface DamagedProbeSite {
  /** "net:outbound_message". */
  probe: string;
  /** The note's address of the site, "0x…". */
  location: string;
  /** What the file holds there instead of the nop, e.g. 0xcc (int3). */
  byte: number;
}

const X86_NOP = 0x90;
const EM_386 = 3;
const EM_X86_64 = 62;
const PT_LOAD = 1;

interface LoadSegment {
  offset: number;
  vaddr: number;
  filesz: number;
}

/** The probe sites of `notes` in `elfPath` that are not a nop (empty where the check does not apply). */
export async function damagedProbeSites(elfPath: string, notes: readonly ProbeNote[]): Promise<DamagedProbeSite[]> {
  if (notes.length === 0) return [];
  return damagedProbeSitesInImage(await readFile(elfPath), notes);
}

/** The same on an ELF image already in memory. */
export function damagedProbeSitesInImage(image: Buffer, notes: readonly ProbeNote[]): DamagedProbeSite[] {
  const header = image.subarray(0, 64);
  if (notes.length === 0 || header.length < 52 || header.readUInt32BE(0) !== 0x7f454c46 || header[5] !== 1) return [];
  const is64 = header[4] === 2;
  const machine = header.readUInt16LE(0x12);
  if (machine !== EM_X86_64 && machine !== EM_386) return [];
  const segments = loadSegments(image, is64);
  const damaged: DamagedProbeSite[] = [];
  for (const note of notes) {
    const address = Number(BigInt(note.location));
    const segment = segments.find((s) => address >= s.vaddr && address < s.vaddr + s.filesz);
    if (!segment) continue; // not in the file (prelinked or relocatable): nothing to compare
    const byte = image[segment.offset + (address - segment.vaddr)];
    if (byte !== undefined && byte !== X86_NOP) damaged.push({ probe: `${note.provider}:${note.name}`, location: note.location, byte });
  }
  return damaged;
}

function loadSegments(image: Buffer, is64: boolean): LoadSegment[] {
  const tableOffset = is64 ? Number(image.readBigUInt64LE(0x20)) : image.readUInt32LE(0x1c);
  const entrySize = image.readUInt16LE(is64 ? 0x36 : 0x2a);
  const count = image.readUInt16LE(is64 ? 0x38 : 0x2c);
  if (tableOffset === 0 || entrySize === 0) return [];
  const table = image.subarray(tableOffset, tableOffset + entrySize * count);
  const segments: LoadSegment[] = [];
  for (let i = 0; i < count && (i + 1) * entrySize <= table.length; i++) {
    const at = i * entrySize;
    if (table.readUInt32LE(at) !== PT_LOAD) continue;
    segments.push(
      is64
        ? { offset: Number(table.readBigUInt64LE(at + 8)), vaddr: Number(table.readBigUInt64LE(at + 0x10)), filesz: Number(table.readBigUInt64LE(at + 0x20)) }
        : { offset: table.readUInt32LE(at + 4), vaddr: table.readUInt32LE(at + 8), filesz: table.readUInt32LE(at + 0x10) },
    );
  }
  return segments;
}

/** "net:outbound_message at 0x156f2c holds 0xcc (int3), not a nop". */
export function describeDamagedSite(site: DamagedProbeSite): string {
  return `${site.probe} at ${site.location} holds 0x${site.byte.toString(16).padStart(2, '0')}${site.byte === 0xcc ? ' (int3)' : ''}, not a nop`;
}
