import { copyFile, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { checkBitcoindProbes } from '../harness/doctor/probes.js';
import { readProbeNotes } from '../tracing/elf-notes.js';
import { damagedProbeSites } from '../tracing/probe-sites.js';
import { coreBuilds, coreBuildsSkipReason } from './helpers/core-builds.js';
import { buildEmitter, emitterSkipReason } from './helpers/emitter.js';

/** The oracle: binutils' disassembly of the one instruction at `address`. */
async function instructionAt(file: string, address: bigint): Promise<string> {
  const { stdout } = await execa('objdump', ['-d', `--start-address=0x${address.toString(16)}`, `--stop-address=0x${(address + 1n).toString(16)}`, file]);
  const line = stdout.split('\n').find((l) => new RegExp(`^\\s*${address.toString(16)}:`).test(l));
  return line?.split('\t').at(-1)?.trim() ?? '';
}

/** The file offset of a virtual address, from `readelf -lW`'s LOAD segments (independent of probe-sites.ts). */
async function fileOffsetOf(file: string, address: bigint): Promise<number> {
  const { stdout } = await execa('readelf', ['-lW', file]);
  for (const line of stdout.split('\n')) {
    const m = /^\s*LOAD\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+0x[0-9a-f]+\s+(0x[0-9a-f]+)/.exec(line);
    if (!m) continue;
    const [offset, vaddr, filesz] = [BigInt(m[1]!), BigInt(m[2]!), BigInt(m[3]!)];
    if (address >= vaddr && address < vaddr + filesz) return Number(offset + (address - vaddr));
  }
  throw new Error(`0x${address.toString(16)} is in no LOAD segment of ${file}`);
}

const objdumpMissing = (await execa('objdump', ['--version'], { reject: false })).exitCode === 0 ? undefined : 'objdump (binutils) is not installed';

describe.skipIf(coreBuildsSkipReason() || objdumpMissing)('probe sites of the shared Core builds', () => {
  it('are reported damaged exactly where the disassembly shows something other than a nop', async () => {
    for (const build of coreBuilds()) {
      const notes = await readProbeNotes(build.bitcoind);
      const damaged = (await damagedProbeSites(build.bitcoind, notes)).map((d) => d.probe);
      const notNop: string[] = [];
      for (const note of notes) if ((await instructionAt(build.bitcoind, BigInt(note.location))) !== 'nop') notNop.push(`${note.provider}:${note.name}`);
      expect(damaged, build.tag).toEqual(notNop);
    }
  });
});

const emitterSkip = emitterSkipReason() ?? objdumpMissing;
describe.skipIf(emitterSkip)('a probe site with a byte written over its nop', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('is named with its byte, and makes the probe check fail when it is a message probe', async () => {
    const emitter = await buildEmitter();
    const dir = await mkdtemp(join(tmpdir(), 'probe-sites-'));
    dirs.push(dir);
    const altered = join(dir, 'emitter');
    await copyFile(emitter, altered);
    const notes = await readProbeNotes(altered);
    expect(await damagedProbeSites(altered, notes)).toEqual([]);

    const target = notes.find((n) => n.provider === 'net' && n.name === 'outbound_message')!;
    const handle = await open(altered, 'r+');
    await handle.write(Buffer.from([0xcc]), 0, 1, await fileOffsetOf(altered, BigInt(target.location)));
    await handle.close();
    expect(await instructionAt(altered, BigInt(target.location))).toBe('int3');

    expect(await damagedProbeSites(altered, notes)).toEqual([{ probe: 'net:outbound_message', location: target.location, byte: 0xcc }]);
    const check = await checkBitcoindProbes(altered);
    expect(check.status).toBe('missing');
    expect(check.detail).toContain('net:outbound_message at');
    expect(check.detail).toContain('0xcc (int3)');
  });
});
