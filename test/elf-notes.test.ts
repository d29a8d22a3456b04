import { mkdtemp, open, readFile, readdir, realpath, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isHarnessError } from '../harness/common/errors.js';
import { hasProbes, parseArgSpec, parseProbeNotes, readProbeNotes, type ProbeNote } from '../tracing/elf-notes.js';
import { collapseProbes, diffProbes } from '../tracing/probe-diff.js';
import { catalog } from '../tracing/catalog.js';
import { buildEmitter } from './helpers/emitter.js';
import { buildProbelessBinary, buildSdtFixture, readelfAvailable, readelfProbes, sdtToolchain, type ReadelfProbe } from './helpers/readelf.js';

const toolchain = await sdtToolchain();
const haveReadelf = await readelfAvailable();
const noToolchain = toolchain.ok ? (haveReadelf ? undefined : 'readelf (binutils) is not installed') : toolchain.reason;

/** Our notes in readelf's terms, so one toEqual compares every field of every note. */
function asReadelf(note: ProbeNote): ReadelfProbe {
  return {
    provider: note.provider,
    name: note.name,
    location: BigInt(note.location),
    base: BigInt(note.base),
    semaphore: note.semaphore === null ? 0n : BigInt(note.semaphore),
    argumentLine: note.args.join(' '),
  };
}

async function expectAgreesWithReadelf(file: string): Promise<ProbeNote[]> {
  const ours = await readProbeNotes(file);
  const theirs = await readelfProbes(file);
  expect(ours.length).toBe(theirs.length);
  expect(ours.map(asReadelf)).toEqual(theirs);
  for (const note of ours) {
    expect(note.location).toMatch(/^0x[0-9a-f]+$/);
    expect(note.base).toMatch(/^0x[0-9a-f]+$/);
    if (note.semaphore !== null) expect(note.semaphore).toMatch(/^0x[0-9a-f]*[1-9a-f][0-9a-f]*$/);
  }
  return ours;
}

const argTypes = (note: ProbeNote | undefined) => (note?.args ?? []).map((spec) => {
  const arg = parseArgSpec(spec);
  return `${arg.signed ? '-' : ''}${arg.size}`;
});

describe('parseArgSpec', () => {
  it('reads sign, size and operand, splitting at the first @ only', () => {
    expect(parseArgSpec('-8@%rbx')).toEqual({ size: 8, signed: true, operand: '%rbx' });
    expect(parseArgSpec('4@$42')).toEqual({ size: 4, signed: false, operand: '$42' });
    expect(parseArgSpec('-4@$-7')).toEqual({ size: 4, signed: true, operand: '$-7' });
    expect(parseArgSpec('-1@v_i8@GOTOFF(%eax)')).toEqual({ size: 1, signed: true, operand: 'v_i8@GOTOFF(%eax)' });
    expect(parseArgSpec('8@-80(%rbx)')).toEqual({ size: 8, signed: false, operand: '-80(%rbx)' });
    expect(parseArgSpec('8f@%xmm0')).toEqual({ size: 8, signed: false, operand: '%xmm0', float: true });
    expect(parseArgSpec('-4@[sp, 60]')).toEqual({ size: 4, signed: true, operand: '[sp, 60]' });
  });

  it('keeps a size-less operand from old sdt.h, and rejects blanks and empties', () => {
    expect(parseArgSpec('%rax')).toEqual({ size: 0, signed: false, operand: '%rax' });
    expect(() => parseArgSpec('')).toThrow(/not an sdt argument spec/);
    expect(() => parseArgSpec('8@%rax 8@%rbx')).toThrow(/not an sdt argument spec/);
  });
});

describe('hasProbes', () => {
  const notes = [
    { provider: 'net', name: 'inbound_message', location: '0x1', base: '0x0', semaphore: null, args: [] },
    { provider: 'net', name: 'outbound_message', location: '0x2', base: '0x0', semaphore: '0x10', args: [] },
  ] satisfies ProbeNote[];
  it('needs the provider, and every named probe when names are given', () => {
    expect(hasProbes(notes, 'net')).toBe(true);
    expect(hasProbes(notes, 'mempool')).toBe(false);
    expect(hasProbes(notes, 'net', ['inbound_message', 'outbound_message'])).toBe(true);
    expect(hasProbes(notes, 'net', ['inbound_message', 'inbound_connection'])).toBe(false);
    expect(hasProbes([], 'net', [])).toBe(false);
  });
});

describe('bad input', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'elf-notes-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function failure(file: string): Promise<{ code: string; message: string; fix: string }> {
    const error = await readProbeNotes(file).then(() => undefined, (e: unknown) => e);
    if (!isHarnessError(error)) throw new Error(`expected a HarnessError for ${file}, got ${String(error)}`);
    return { code: error.code, message: error.message, fix: error.fix };
  }

  it('names a non-ELF file and says what to pass instead', async () => {
    const file = join(dir, 'bitcoind');
    await writeFile(file, '#!/bin/sh\nexec /opt/bitcoin/bin/bitcoind "$@"\n');
    const error = await failure(file);
    expect(error.code).toBe('BAD_OPTION');
    expect(error.message).toBe(`${file}: not an ELF file`);
    expect(error.fix).toMatch(/compiled binary/);
  });

  it('names a missing file and a directory', async () => {
    const missing = join(dir, 'no-such-bitcoind');
    expect(await failure(missing)).toMatchObject({ code: 'BAD_OPTION', message: `${missing}: no such file` });
    expect(await failure(dir)).toMatchObject({ code: 'BAD_OPTION', message: `${dir}: is a directory, not an ELF binary` });
  });

  it('names a truncated ELF (section table cut off) instead of reading garbage', async () => {
    // node is an ELF whose section header table sits at the end: keep only its first 64 KiB.
    const file = join(dir, 'truncated');
    const handle = await open(process.execPath, 'r');
    const head = Buffer.alloc(65536);
    await handle.read(head, 0, head.length, 0);
    await handle.close();
    await writeFile(file, head);
    const error = await failure(file);
    expect(error.message).toMatch(/truncated or corrupt \(the section header table lies outside the file\)/);
    expect(() => parseProbeNotes(head)).toThrow(/<buffer>: ELF file is truncated/);
    expect(() => parseProbeNotes(head.subarray(0, 10))).toThrow(/<buffer>: not an ELF file/);
  });

  it.skipIf(!toolchain.ok)(`returns no notes for a valid ELF without probes${toolchain.ok ? '' : ` (skipped: ${toolchain.reason})`}`, async () => {
    const file = await buildProbelessBinary();
    expect(await readProbeNotes(file)).toEqual([]);
  });
});

describe.skipIf(noToolchain !== undefined)(`fixture binaries agree with readelf -n${noToolchain ? ` (skipped: ${noToolchain})` : ''}`, () => {
  if (!toolchain.ok) return;

  it.each(['O0', 'O2'] as const)('x86-64 -%s: every field of every note', async (optimize) => {
    const file = await buildSdtFixture(toolchain, { optimize });
    const notes = await expectAgreesWithReadelf(file);
    expect(parseProbeNotes(await readFile(file))).toEqual(notes);

    const byName = (name: string) => notes.find((n) => n.name === name);
    expect(byName('zero_args')?.args).toEqual([]);
    expect(argTypes(byName('twelve'))).toEqual(['-1', '1', '-2', '2', '-4', '4', '-8', '8', '8', '8', '-4', '-4']);
    expect(argTypes(byName('constants'))).toEqual(['-4', '-4']);
    expect(byName('constants')?.args.map((a) => parseArgSpec(a).operand)).toEqual(['$42', '$-7']);
    // Core-style semaphores on the gated unit only, one distinct semaphore per probe.
    const gated = notes.filter((n) => n.provider === 'gated');
    expect(gated.map((n) => n.name)).toEqual(['message', 'connection', 'zero']);
    expect(new Set(gated.map((n) => n.semaphore)).size).toBe(3);
    expect(gated.every((n) => n.semaphore !== null)).toBe(true);
    expect(notes.filter((n) => n.provider === 'fixture').every((n) => n.semaphore === null)).toBe(true);
    expect(notes.filter((n) => n.name === 'inlined').length).toBeGreaterThanOrEqual(2);
    expect(hasProbes(notes, 'gated', ['message', 'connection', 'zero'])).toBe(true);
  });

  it('32-bit (ELF32, i386) executable, when cc -m32 can build one', async (context) => {
    const file = await buildSdtFixture(toolchain, { optimize: 'O2', m32: true }).catch((error: unknown) => {
      context.skip(`cc -m32 cannot build here: ${String((error as { shortMessage?: string }).shortMessage ?? error).split('\n')[0]}`);
    });
    if (!file) return;
    const notes = await expectAgreesWithReadelf(file);
    expect(notes.length).toBeGreaterThan(10);
    expect(notes.every((n) => BigInt(n.location) < 2n ** 32n)).toBe(true);
    expect(argTypes(notes.find((n) => n.name === 'twelve'))).toEqual(['-1', '1', '-2', '2', '-4', '4', '-8', '8', '4', '4', '-4', '-4']);
  });
});

describe.skipIf(noToolchain !== undefined)(`the USDT emitter${noToolchain ? ` (skipped: ${noToolchain})` : ''}`, () => {
  it('agrees with readelf -n and carries all 20 catalog tracepoints, each with a Core-style semaphore', async () => {
    const notes = await expectAgreesWithReadelf(await buildEmitter());
    const names = new Set(notes.map((n) => `${n.provider}:${n.name}`));
    expect([...names].sort()).toEqual(catalog.map((t) => t.name).sort());
    expect(notes.every((n) => n.semaphore !== null)).toBe(true);
    for (const tp of catalog) {
      const note = notes.find((n) => `${n.provider}:${n.name}` === tp.name)!;
      expect(note.args, tp.name).toHaveLength(tp.arguments.length);
    }
  });
});

/** Binaries on this machine that `readelf -n` says carry stapsdt notes. */
async function systemBinariesWithNotes(): Promise<string[]> {
  if (!haveReadelf) return [];
  const candidates = [process.execPath, '/usr/bin/python3'];
  for (const dir of ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib64', '/usr/lib64', '/usr/lib/aarch64-linux-gnu']) {
    const entries = await readdir(dir).catch(() => [] as string[]);
    candidates.push(...entries.filter((e) => /^(libc\.so\.6|libstdc\+\+\.so\.6|libgcc_s\.so\.1|ld-linux.*\.so\.\d|libpython3[.\d]*\.so\.1\.0)$/.test(e)).map((e) => join(dir, e)));
  }
  for (const jvm of await readdir('/usr/lib/jvm').catch(() => [] as string[])) candidates.push(join('/usr/lib/jvm', jvm, 'lib/server/libjvm.so'));
  for (const pg of await readdir('/usr/lib/postgresql').catch(() => [] as string[])) candidates.push(join('/usr/lib/postgresql', pg, 'bin/postgres'));
  const unique = [...new Set(await Promise.all(candidates.filter((c) => existsSync(c)).map((c) => realpath(c))))];
  const withNotes: string[] = [];
  for (const file of unique) if ((await readelfProbes(file).catch(() => [])).length > 0) withNotes.push(file);
  return withNotes;
}

const systemBinaries = await systemBinariesWithNotes();

describe.skipIf(systemBinaries.length === 0)(`system binaries with stapsdt notes agree with readelf -n${systemBinaries.length === 0 ? ' (skipped: none found on this machine)' : ''}`, () => {
  it.each(systemBinaries)('%s', async (file) => {
    const notes = await expectAgreesWithReadelf(file);
    expect(notes.length).toBeGreaterThan(0);
  });
});

describe.skipIf(noToolchain !== undefined)(`probe diff between fixture variants${noToolchain ? ` (skipped: ${noToolchain})` : ''}`, () => {
  if (!toolchain.ok) return;
  let base: ProbeNote[];
  let variant: ProbeNote[];
  beforeAll(async () => {
    base = await readProbeNotes(await buildSdtFixture(toolchain, { optimize: 'O2' }));
    variant = await readProbeNotes(await buildSdtFixture(toolchain, { optimize: 'O2', variant: true }));
  });

  it('names the added, removed and changed probes exactly', () => {
    const diff = diffProbes(base, variant);
    expect(diff.added.map((p) => p.probe)).toEqual(['fixture:only_in_variant']);
    expect(diff.removed.map((p) => p.probe)).toEqual(['fixture:only_in_base']);
    expect(diff.changed.map(({ probe, changes }) => ({ probe, changes }))).toEqual([
      { probe: 'fixture:grows', changes: ['argument count 7 → 8'] },
      { probe: 'fixture:widens', changes: ['argument 2 size 4 → 8 bytes'] },
      { probe: 'gated:message', changes: ['semaphore lost'] },
      { probe: 'gated:connection', changes: ['semaphore lost'] },
      { probe: 'gated:zero', changes: ['semaphore lost'] },
    ]);
    expect(diff.changed[0]?.b.args).toEqual(['8', '-4', '-8', '8', '8', '-4', '-8', '1']);
    expect(diff.unchanged).toContain('fixture:twelve');
    expect(diff.inconsistent.map(({ side, probe }) => `${side} ${probe.probe}`)).toEqual(['a fixture:disagreeing', 'b fixture:disagreeing']);
  });

  it('reads the reverse direction as gains', () => {
    const diff = diffProbes(variant, base);
    expect(diff.added.map((p) => p.probe)).toEqual(['fixture:only_in_base']);
    expect(diff.changed.find((c) => c.probe === 'fixture:grows')?.changes).toEqual(['argument count 8 → 7']);
    expect(diff.changed.filter((c) => c.changes.includes('semaphore gained')).map((c) => c.probe)).toEqual(['gated:message', 'gated:connection', 'gated:zero']);
  });

  it('ignores operands: -O0 and -O2 builds of one source have the same contract', async () => {
    const unoptimized = await readProbeNotes(await buildSdtFixture(toolchain, { optimize: 'O0' }));
    expect(unoptimized.map((n) => n.args.join(' '))).not.toEqual(base.map((n) => n.args.join(' ')));
    const diff = diffProbes(unoptimized, base);
    expect({ added: diff.added, removed: diff.removed, changed: diff.changed }).toEqual({ added: [], removed: [], changed: [] });
  });

  it('collapses inlined call sites into one probe', () => {
    const inlined = collapseProbes(base).find((p) => p.probe === 'fixture:inlined');
    expect(inlined?.sites).toBe(base.filter((n) => n.name === 'inlined').length);
    expect(inlined?.disagreeing).toBeUndefined();
  });
});

/**
 * A minimal ELF (header, one .note.stapsdt, .shstrtab, section table) in either class and byte
 * order: no big-endian toolchain here, so readelf checks this hand-built image instead.
 */
function syntheticElf(is64: boolean, littleEndian: boolean): Buffer {
  const u16 = (v: number) => { const b = Buffer.alloc(2); littleEndian ? b.writeUInt16LE(v) : b.writeUInt16BE(v); return b; };
  const u32 = (v: number) => { const b = Buffer.alloc(4); littleEndian ? b.writeUInt32LE(v) : b.writeUInt32BE(v); return b; };
  const addr = (v: bigint) => { if (!is64) return u32(Number(v)); const b = Buffer.alloc(8); littleEndian ? b.writeBigUInt64LE(v) : b.writeBigUInt64BE(v); return b; };
  const pad4 = (b: Buffer) => Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
  const note = (location: bigint, semaphore: bigint, strings: string) => {
    const desc = Buffer.concat([addr(location), addr(0x4000n), addr(semaphore), Buffer.from(strings, 'latin1')]);
    return Buffer.concat([u32(8), u32(desc.length), u32(3), pad4(Buffer.from('stapsdt\0')), pad4(desc)]);
  };
  const notes = Buffer.concat([
    note(0x1234n, 0n, 'net\0inbound_message\0-8@%r3 8@%r4 8@8(%r15)\0'),
    note(0xfedcba98n, 0x5000n, 'mempool\0replaced\0\0'),
  ]);
  const names = Buffer.from('\0.note.stapsdt\0.shstrtab\0', 'latin1');
  const headerSize = is64 ? 64 : 52;
  const notesOffset = headerSize;
  const namesOffset = notesOffset + notes.length;
  const tableOffset = namesOffset + names.length + ((4 - ((namesOffset + names.length) % 4)) % 4);
  const shentsize = is64 ? 64 : 40;
  const section = (name: number, type: number, offset: number, size: number) =>
    is64
      ? Buffer.concat([u32(name), u32(type), addr(0n), addr(0n), addr(BigInt(offset)), addr(BigInt(size)), u32(0), u32(0), addr(4n), addr(0n)])
      : Buffer.concat([u32(name), u32(type), u32(0), u32(0), u32(offset), u32(size), u32(0), u32(0), u32(4), u32(0)]);
  const ident = Buffer.from([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, littleEndian ? 1 : 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  const machine = is64 ? (littleEndian ? 62 : 22) : littleEndian ? 3 : 20; // x86-64, s390, i386, ppc
  const header = Buffer.concat([
    ident, u16(2), u16(machine), u32(1), addr(0n), addr(0n), addr(BigInt(tableOffset)), u32(0),
    u16(headerSize), u16(0), u16(0), u16(shentsize), u16(3), u16(2),
  ]);
  expect(header.length).toBe(headerSize);
  const body = Buffer.concat([header, notes, names]);
  return Buffer.concat([body, Buffer.alloc(tableOffset - body.length), section(0, 0, 0, 0), section(1, 7, notesOffset, notes.length), section(15, 3, namesOffset, names.length)]);
}

describe.skipIf(!haveReadelf)(`hand-built ELF in every class and byte order${haveReadelf ? '' : ' (skipped: readelf is not installed)'}`, () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'elf-synthetic-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['ELF64 little-endian', true, true],
    ['ELF64 big-endian', true, false],
    ['ELF32 little-endian', false, true],
    ['ELF32 big-endian', false, false],
  ] as const)('%s agrees with readelf -n', async (label, is64, littleEndian) => {
    const file = join(dir, label.replace(/\W+/g, '-'));
    const image = syntheticElf(is64, littleEndian);
    await writeFile(file, image);
    const notes = await expectAgreesWithReadelf(file);
    expect(notes).toEqual(parseProbeNotes(image));
    expect(notes).toEqual([
      { provider: 'net', name: 'inbound_message', location: '0x1234', base: '0x4000', semaphore: null, args: ['-8@%r3', '8@%r4', '8@8(%r15)'] },
      { provider: 'mempool', name: 'replaced', location: '0xfedcba98', base: '0x4000', semaphore: '0x5000', args: [] },
    ]);
  });
});
