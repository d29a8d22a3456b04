/**
 * Reads the USDT probe descriptors (`.note.stapsdt`) of an ELF file in TypeScript, so the harness
 * can tell which tracepoints a bitcoind carries without readelf being installed.
 *
 * Values are reported as stored in the notes, like `readelf -n` prints them for linked
 * executables and shared objects. In relocatable objects (`.o`) the stored addresses are
 * unrelocated; readelf applies the relocations there, this reader does not.
 */
import { open, stat } from 'node:fs/promises';
import { HarnessError } from '../harness/common/errors.js';

export interface ProbeNote {
  provider: string;
  name: string;
  /** Address of the probe's NOP, as stored: "0x…" lowercase hex. */
  location: string;
  /** Address of `_.stapsdt.base` when linked; tools use it to detect prelinking. */
  base: string;
  /** Address of the semaphore (Core v29+: one per tracepoint), null when the note has none. */
  semaphore: string | null;
  /** Argument specs in sdt notation, e.g. ["-8@%rbx", "8@%rbp"]. */
  args: string[];
}

/** One argument spec `[-]SIZE[f]@OPERAND`: '-' means signed, 'f' floating point. */
export interface ArgSpec {
  /** Bytes; 0 when the spec carries no size (very old sdt.h). */
  size: number;
  signed: boolean;
  operand: string;
  /** True for `f` specs (float/double arguments), absent otherwise. */
  float?: true;
}

const NT_STAPSDT = 3;
const SHT_NOTE = 7;
const NOTE_SECTION = '.note.stapsdt';
const NOTE_OWNER = 'stapsdt';

/** Everything the parser needs to know about an ELF file before it reads sections. */
interface ElfLayout {
  is64: boolean;
  littleEndian: boolean;
  sectionTableOffset: number;
  sectionHeaderSize: number;
  sectionCount: number;
  sectionNamesIndex: number;
}

interface SectionHeader {
  nameOffset: number;
  type: number;
  offset: number;
  size: number;
  align: number;
  /** sh_link: the real section-name-table index when e_shstrndx overflowed. */
  link: number;
}

/**
 * The walk over an ELF file asks for byte ranges (yield {offset, length}) and gets Buffers back,
 * so one parser serves both a FileHandle (a 14 MB bitcoind is never read whole) and a Buffer.
 */
interface ReadRequest {
  offset: number;
  length: number;
}
type NoteWalk = Generator<ReadRequest, ProbeNote[], Buffer>;

function badFile(source: string, problem: string, fix: string, cause?: unknown): HarnessError {
  return new HarnessError('BAD_OPTION', `${source}: ${problem}`, { fix, cause });
}

function truncated(source: string, what: string): HarnessError {
  return badFile(source, `ELF file is truncated or corrupt (${what} lies outside the file)`, 'pass a complete, uncorrupted ELF binary (re-copy or rebuild it)');
}

function readWord(buf: Buffer, at: number, is64: boolean, le: boolean): bigint {
  if (is64) return le ? buf.readBigUInt64LE(at) : buf.readBigUInt64BE(at);
  return BigInt(le ? buf.readUInt32LE(at) : buf.readUInt32BE(at));
}

function readU32(buf: Buffer, at: number, le: boolean): number {
  return le ? buf.readUInt32LE(at) : buf.readUInt32BE(at);
}

function readU16(buf: Buffer, at: number, le: boolean): number {
  return le ? buf.readUInt16LE(at) : buf.readUInt16BE(at);
}

/** File offsets and sizes beyond 2^53 cannot belong to a real file: treat them as corruption. */
function toOffset(value: bigint, source: string, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw truncated(source, what);
  return Number(value);
}

const HEADER_BYTES = 64;

function parseLayout(header: Buffer, source: string, fileSize: number): ElfLayout {
  const notElf = () =>
    badFile(source, 'not an ELF file', 'pass a compiled binary such as bitcoind (not a script, archive or wrapper); check it with `file`');
  if (header.length < 16 || header.readUInt32BE(0) !== 0x7f454c46) throw notElf();
  const elfClass = header[4];
  const data = header[5];
  if ((elfClass !== 1 && elfClass !== 2) || (data !== 1 && data !== 2)) throw notElf();
  const is64 = elfClass === 2;
  const le = data === 1;
  if (header.length < (is64 ? 64 : 52)) throw truncated(source, 'the ELF header');
  const layout: ElfLayout = is64
    ? {
        is64,
        littleEndian: le,
        sectionTableOffset: toOffset(readWord(header, 0x28, true, le), source, 'the section header table'),
        sectionHeaderSize: readU16(header, 0x3a, le),
        sectionCount: readU16(header, 0x3c, le),
        sectionNamesIndex: readU16(header, 0x3e, le),
      }
    : {
        is64,
        littleEndian: le,
        sectionTableOffset: readU32(header, 0x20, le),
        sectionHeaderSize: readU16(header, 0x2e, le),
        sectionCount: readU16(header, 0x30, le),
        sectionNamesIndex: readU16(header, 0x32, le),
      };
  // No section table (sstrip): notes are found through sections, so this file reports none.
  if (layout.sectionTableOffset === 0) return { ...layout, sectionCount: 0 };
  if (layout.sectionHeaderSize < (is64 ? 64 : 40)) throw badFile(source, `ELF section header size ${layout.sectionHeaderSize} is invalid`, 'pass an uncorrupted ELF binary');
  if (layout.sectionTableOffset + layout.sectionHeaderSize > fileSize) throw truncated(source, 'the section header table');
  return layout;
}

function parseSectionHeader(buf: Buffer, at: number, layout: ElfLayout, source: string): SectionHeader {
  const le = layout.littleEndian;
  if (layout.is64) {
    return {
      nameOffset: readU32(buf, at, le),
      type: readU32(buf, at + 4, le),
      offset: toOffset(readWord(buf, at + 0x18, true, le), source, 'a section'),
      size: toOffset(readWord(buf, at + 0x20, true, le), source, 'a section'),
      link: readU32(buf, at + 0x28, le),
      align: toOffset(readWord(buf, at + 0x30, true, le), source, 'a section'),
    };
  }
  return {
    nameOffset: readU32(buf, at, le),
    type: readU32(buf, at + 4, le),
    offset: readU32(buf, at + 0x10, le),
    size: readU32(buf, at + 0x14, le),
    link: readU32(buf, at + 0x18, le),
    align: readU32(buf, at + 0x20, le),
  };
}

function sectionName(names: Buffer, offset: number): string {
  if (offset >= names.length) return '';
  const end = names.indexOf(0, offset);
  return names.toString('latin1', offset, end === -1 ? names.length : end);
}

function hex(value: bigint): string {
  return `0x${value.toString(16)}`;
}

const align = (n: number, to: number) => Math.ceil(n / to) * to;

/** Parse every stapsdt note of one note section, in order; other owners/types are skipped. */
function parseNoteSection(notes: Buffer, layout: ElfLayout, alignment: number, source: string): ProbeNote[] {
  const le = layout.littleEndian;
  const word = layout.is64 ? 8 : 4;
  const malformed = () => badFile(source, `malformed note in ${NOTE_SECTION}`, 'rebuild the binary; its probe notes are corrupt');
  const probes: ProbeNote[] = [];
  let at = 0;
  while (at + 12 <= notes.length) {
    const nameSize = readU32(notes, at, le);
    const descSize = readU32(notes, at + 4, le);
    const type = readU32(notes, at + 8, le);
    const nameStart = at + 12;
    const descStart = nameStart + align(nameSize, alignment);
    const next = descStart + align(descSize, alignment);
    if (descStart + descSize > notes.length) throw malformed();
    const owner = notes.toString('latin1', nameStart, nameStart + Math.max(0, nameSize - 1));
    if (owner === NOTE_OWNER && type === NT_STAPSDT) {
      const desc = notes.subarray(descStart, descStart + descSize);
      if (desc.length < 3 * word) throw malformed();
      const strings = desc.toString('latin1', 3 * word).split('\0');
      const [provider, name, argString] = strings;
      if (provider === undefined || name === undefined) throw malformed();
      const semaphore = readWord(desc, 2 * word, layout.is64, le);
      probes.push({
        provider,
        name,
        location: hex(readWord(desc, 0, layout.is64, le)),
        base: hex(readWord(desc, word, layout.is64, le)),
        semaphore: semaphore === 0n ? null : hex(semaphore),
        args: splitArgs(argString ?? ''),
      });
    }
    at = next;
  }
  return probes;
}

/**
 * Split an argument string on blanks, except blanks inside brackets: aarch64 operands look like
 * `-4@[sp, 60]`.
 */
function splitArgs(argString: string): string[] {
  const args: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of argString) {
    if (ch === '[' || ch === '(') depth += 1;
    if (ch === ']' || ch === ')') depth = Math.max(0, depth - 1);
    if (ch === ' ' && depth === 0) {
      if (current) args.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  if (current) args.push(current);
  return args;
}

/** Every read is bounds-checked against the file size first, so truncation is named, not a short read. */
function* readRange(source: string, fileSize: number, offset: number, length: number, what: string): Generator<ReadRequest, Buffer, Buffer> {
  if (offset + length > fileSize) throw truncated(source, what);
  return yield { offset, length };
}

function* walkNotes(source: string, fileSize: number): NoteWalk {
  const header = yield { offset: 0, length: Math.min(HEADER_BYTES, fileSize) };
  const layout = parseLayout(header, source, fileSize);
  if (layout.sectionTableOffset === 0) return [];

  // e_shnum == 0 with a table present means "0xff00 sections or more": the count is in section 0.
  const firstBytes = yield* readRange(source, fileSize, layout.sectionTableOffset, layout.sectionHeaderSize, 'the section header table');
  const first = parseSectionHeader(firstBytes, 0, layout, source);
  const count = layout.sectionCount === 0 ? first.size : layout.sectionCount;
  const namesIndex = layout.sectionNamesIndex === 0xffff ? first.link : layout.sectionNamesIndex;

  const table = yield* readRange(source, fileSize, layout.sectionTableOffset, count * layout.sectionHeaderSize, 'the section header table');
  const sections = Array.from({ length: count }, (_, i) => parseSectionHeader(table, i * layout.sectionHeaderSize, layout, source));
  const namesSection = sections[namesIndex];
  if (!namesSection) throw badFile(source, 'ELF section name table index is out of range', 'pass an uncorrupted ELF binary');
  const names = yield* readRange(source, fileSize, namesSection.offset, namesSection.size, 'the section name table');

  const probes: ProbeNote[] = [];
  for (const section of sections) {
    if (section.type !== SHT_NOTE || sectionName(names, section.nameOffset) !== NOTE_SECTION) continue;
    const body = yield* readRange(source, fileSize, section.offset, section.size, `section ${NOTE_SECTION}`);
    probes.push(...parseNoteSection(body, layout, section.align === 8 ? 8 : 4, source));
  }
  return probes;
}

/** Probe notes of an ELF file, in note order. Reads only the headers and the note sections. */
export async function readProbeNotes(file: string): Promise<ProbeNote[]> {
  let size: number;
  try {
    const info = await stat(file);
    size = info.size;
    if (info.isDirectory()) throw badFile(file, 'is a directory, not an ELF binary', 'pass the path of the binary itself, e.g. …/bin/bitcoind');
  } catch (error) {
    if (error instanceof HarnessError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw badFile(file, 'no such file', 'check the path, or pass an existing binary (e.g. a bitcoind built with USDT)', error);
    throw badFile(file, `cannot read the file (${code ?? String(error)})`, 'check the path and its permissions', error);
  }
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw badFile(file, `cannot open the file (${code ?? String(error)})`, 'check the file permissions (run as a user that can read it)', error);
  }
  try {
    const walk = walkNotes(file, size);
    let step = walk.next();
    while (!step.done) {
      const { offset, length } = step.value;
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, offset);
      step = walk.next(buffer.subarray(0, bytesRead));
    }
    return step.value;
  } finally {
    await handle.close();
  }
}

/** Probe notes of an ELF image already in memory, in note order. */
export function parseProbeNotes(elf: Buffer): ProbeNote[] {
  const walk = walkNotes('<buffer>', elf.length);
  let step = walk.next();
  while (!step.done) step = walk.next(elf.subarray(step.value.offset, step.value.offset + step.value.length));
  return step.value;
}

/** True when some note has this provider and, if names are given, every one of those names. */
export function hasProbes(notes: ProbeNote[], provider: string, names?: string[]): boolean {
  const present = new Set(notes.filter((n) => n.provider === provider).map((n) => n.name));
  if (present.size === 0) return false;
  return (names ?? []).every((name) => present.has(name));
}

const ARG_SPEC = /^(-?)(\d+)(f?)@(.+)$/s;

/** Parse one sdt argument spec such as `-8@%rbx`, `4@$42`, `-1@v_i8@GOTOFF(%eax)` or `8f@%xmm0`. */
export function parseArgSpec(spec: string): ArgSpec {
  if (splitArgs(spec).length !== 1 || spec.trim() !== spec) {
    throw new HarnessError('BAD_OPTION', `'${spec}' is not an sdt argument spec`, { fix: 'pass one argument spec such as -8@%rbx (sign, size in bytes, @, operand)' });
  }
  const match = ARG_SPEC.exec(spec);
  if (!match) {
    return { size: 0, signed: false, operand: spec }; // pre-size sdt.h: the operand alone
  }
  const [, sign, size, float, operand] = match as unknown as [string, string, string, string, string];
  const parsed: ArgSpec = { size: Number(size), signed: sign === '-', operand };
  if (float === 'f') parsed.float = true;
  return parsed;
}

const notesByFile = new Map<string, Promise<ProbeNote[]>>();

/**
 * readProbeNotes, once per file version for the life of the process (tracers ask on every
 * attach). Keyed by path, inode, mtime and size: a binary rebuilt in place (same path, maybe same
 * inode) is read again, not served the old build's probe addresses. Failures are not cached.
 */
export async function readProbeNotesCached(file: string): Promise<ProbeNote[]> {
  let info;
  try {
    info = await stat(file);
  } catch {
    return readProbeNotes(file); // it names the problem
  }
  const key = `${file}\0${info.ino}\0${info.mtimeMs}\0${info.size}`;
  let found = notesByFile.get(key);
  if (!found) {
    found = readProbeNotes(file);
    found.catch(() => notesByFile.delete(key));
    notesByFile.set(key, found);
  }
  return found;
}
