/**
 * The oracle for the ELF note reader: binutils' `readelf -n`, parsed independently of
 * tracing/elf-notes.ts so the two can be compared field by field.
 */
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

export interface ReadelfProbe {
  provider: string;
  name: string;
  location: bigint;
  base: bigint;
  semaphore: bigint;
  /** The Arguments line exactly as printed (blank-separated specs), trailing blanks trimmed. */
  argumentLine: string;
}

export async function readelfAvailable(): Promise<boolean> {
  const result = await execa('readelf', ['--version'], { reject: false });
  return result.exitCode === 0;
}

/** Every NT_STAPSDT note `readelf -n` prints for `file`, in output order. */
export async function readelfProbes(file: string): Promise<ReadelfProbe[]> {
  const { stdout } = await execa('readelf', ['-n', file], { maxBuffer: 256 * 1024 * 1024 });
  return parseReadelfNotes(stdout);
}

/**
 * readelf prints each stapsdt note as
 *   stapsdt  0x…  NT_STAPSDT (SystemTap probe descriptors)
 *     Provider: P
 *     Name: N
 *     Location: 0x…, Base: 0x…, Semaphore: 0x…
 *     Arguments: A…
 */
export function parseReadelfNotes(output: string): ReadelfProbe[] {
  const lines = output.split('\n');
  const probes: ReadelfProbe[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    if (!/^\s*stapsdt\s+0x[0-9a-f]+\s+NT_STAPSDT\b/.test(lines[i] ?? '')) continue;
    const field = (offset: number, label: string): string => {
      const line = lines[i + offset] ?? '';
      const match = new RegExp(`^\\s*${label}: ?(.*)$`).exec(line);
      if (!match) throw new Error(`readelf output: expected '${label}:' at line ${i + offset + 1}, got '${line}'`);
      return match[1] ?? '';
    };
    const provider = field(1, 'Provider');
    const name = field(2, 'Name');
    const addresses = /^Location: (0x[0-9a-f]+), Base: (0x[0-9a-f]+), Semaphore: (0x[0-9a-f]+)$/.exec(field(3, 'Location').replace(/^/, 'Location: '));
    if (!addresses) throw new Error(`readelf output: cannot parse the Location line after note ${provider}:${name}`);
    const [, location, base, semaphore] = addresses as unknown as [string, string, string, string];
    probes.push({
      provider,
      name,
      location: BigInt(location),
      base: BigInt(base),
      semaphore: BigInt(semaphore),
      argumentLine: field(4, 'Arguments').trimEnd(),
    });
    i += 4;
  }
  return probes;
}

// ---- Building test/fixtures/sdt-variety.c (used by the readelf-comparison and CLI tests) ----

const FIXTURE_SOURCE = fileURLToPath(new URL('../fixtures/sdt-variety.c', import.meta.url));
const BUILD_DIR = fileURLToPath(new URL('../.build/', import.meta.url));

export type Toolchain = { ok: true; sdtIncludeDir: string } | { ok: false; reason: string };

/** Is there a C compiler that can include <sys/sdt.h>? Its directory is needed again for -m32. */
export async function sdtToolchain(): Promise<Toolchain> {
  const probe = await execa('cc', ['-E', '-x', 'c', '-'], { input: '#include <sys/sdt.h>\n', reject: false }).catch(() => undefined);
  if (!probe || probe.exitCode !== 0) {
    return { ok: false, reason: probe ? 'cc cannot include <sys/sdt.h> (install systemtap-sdt-dev)' : 'no C compiler (cc) on PATH' };
  }
  const header = /^# \d+ "(.+)\/sys\/sdt\.h"/m.exec(probe.stdout);
  return header?.[1] ? { ok: true, sdtIncludeDir: header[1] } : { ok: false, reason: 'cannot locate sys/sdt.h in the preprocessor output' };
}

export interface FixtureBuild {
  optimize: 'O0' | 'O2';
  /** The "b" side of the diff test (see the fixture's header comment). */
  variant?: boolean;
  /** A 32-bit (ELF32, i386) static executable without libc. */
  m32?: boolean;
}

/**
 * Compile the fixture (two translation units: semaphore-gated probes, plain probes) into
 * test/.build/. Outputs are renamed into place so concurrent test files never see half a binary.
 */
export async function buildSdtFixture(toolchain: Extract<Toolchain, { ok: true }>, build: FixtureBuild): Promise<string> {
  await mkdir(BUILD_DIR, { recursive: true });
  const name = `sdt-variety-${build.optimize}${build.variant ? '-variant' : ''}${build.m32 ? '-m32' : ''}`;
  const output = join(BUILD_DIR, name);
  const unique = `${process.pid}-${Math.random().toString(36).slice(2)}`;
  const gatedObject = join(BUILD_DIR, `${name}.gated.${unique}.o`);
  const temporary = join(BUILD_DIR, `${name}.${unique}.tmp`);
  const flags = [`-${build.optimize}`, ...(build.variant ? ['-DVARIANT'] : [])];
  // 32-bit: sdt.h lives in the 64-bit multiarch directory; no libc, so no crt files either.
  const arch = build.m32 ? ['-m32', '-idirafter', toolchain.sdtIncludeDir] : [];
  const link = build.m32 ? ['-nostdlib', '-static', '-Wl,-e,main'] : [];
  try {
    await execa('cc', [...arch, ...flags, '-DGATED_UNIT', '-c', FIXTURE_SOURCE, '-o', gatedObject]);
    await execa('cc', [...arch, ...flags, ...link, FIXTURE_SOURCE, gatedObject, '-o', temporary]);
    await rename(temporary, output);
  } finally {
    await rm(gatedObject, { force: true });
    await rm(temporary, { force: true });
  }
  return output;
}

/** A linked executable with no probe notes at all, built from a one-line program. */
export async function buildProbelessBinary(): Promise<string> {
  await mkdir(BUILD_DIR, { recursive: true });
  const output = join(BUILD_DIR, 'no-probes');
  const temporary = `${output}.${process.pid}.tmp`;
  await execa('cc', ['-x', 'c', '-', '-o', temporary], { input: 'int main(void) { return 0; }\n' });
  await rename(temporary, output);
  return output;
}
