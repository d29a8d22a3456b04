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
import { open } from 'node:fs/promises';
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

/** The probe sites of `notes` in `elfPath` that are not a nop (empty where the check does not apply). Reads only the bytes it needs. */
export async function damagedProbeSites(elfPath: string, notes: readonly ProbeNote[]): Promise<DamagedProbeSite[]> {
  if (notes.length === 0) return [];
  const file = await open(elfPath, 'r');
  try {
    const read = async (offset: number, length: number): Promise<Buffer> => {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await file.read(buffer, 0, length, offset);
      return buffer.subarray(0, bytesRead);
    };
    const layout = programHeaderLayout(await read(0, 64));
    if (!layout) return [];
    const segments = loadSegments(await read(layout.tableOffset, layout.entrySize * layout.count), layout);
    const damaged: DamagedProbeSite[] = [];
    for (const site of siteOffsets(segments, notes)) {
      const byte = (await read(site.offset, 1))[0];
      if (byte !== undefined && byte !== X86_NOP) damaged.push({ probe: site.probe, location: site.location, byte });
    }
    return damaged;
  } finally {
    await file.close();
  }
}

/** The same on an ELF image already in memory. */
export function damagedProbeSitesInImage(image: Buffer, notes: readonly ProbeNote[]): DamagedProbeSite[] {
  const layout = notes.length === 0 ? undefined : programHeaderLayout(image.subarray(0, 64));
  if (!layout) return [];
  const segments = loadSegments(image.subarray(layout.tableOffset, layout.tableOffset + layout.entrySize * layout.count), layout);
  return siteOffsets(segments, notes).flatMap((site) => {
    const byte = image[site.offset];
    return byte !== undefined && byte !== X86_NOP ? [{ probe: site.probe, location: site.location, byte }] : [];
  });
}

interface ProgramHeaderLayout {
  is64: boolean;
  tableOffset: number;
  entrySize: number;
  count: number;
}

/** Where an x86 ELF's program header table is; undefined for anything the check does not apply to. */
function programHeaderLayout(header: Buffer): ProgramHeaderLayout | undefined {
  if (header.length < 52 || header.readUInt32BE(0) !== 0x7f454c46 || header[5] !== 1) return undefined;
  const is64 = header[4] === 2;
  if (is64 && header.length < 64) return undefined;
  const machine = header.readUInt16LE(0x12);
  if (machine !== EM_X86_64 && machine !== EM_386) return undefined;
  const tableOffset = is64 ? Number(header.readBigUInt64LE(0x20)) : header.readUInt32LE(0x1c);
  const entrySize = header.readUInt16LE(is64 ? 0x36 : 0x2a);
  const count = header.readUInt16LE(is64 ? 0x38 : 0x2c);
  return tableOffset === 0 || entrySize === 0 ? undefined : { is64, tableOffset, entrySize, count };
}

/** File offsets of the notes' sites (a site outside every loaded segment has nothing to compare). */
function siteOffsets(segments: readonly LoadSegment[], notes: readonly ProbeNote[]): { probe: string; location: string; offset: number }[] {
  return notes.flatMap((note) => {
    const address = Number(BigInt(note.location));
    const segment = segments.find((s) => address >= s.vaddr && address < s.vaddr + s.filesz);
    return segment ? [{ probe: `${note.provider}:${note.name}`, location: note.location, offset: segment.offset + (address - segment.vaddr) }] : [];
  });
}

function loadSegments(table: Buffer, { is64, entrySize, count }: ProgramHeaderLayout): LoadSegment[] {
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
