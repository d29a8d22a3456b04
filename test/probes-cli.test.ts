import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { buildSdtFixture, readelfAvailable, readelfProbes, sdtToolchain } from './helpers/readelf.js';

const cli = runCli;

const toolchain = await sdtToolchain();
const haveReadelf = await readelfAvailable();
const skipReason = !toolchain.ok ? toolchain.reason : !haveReadelf ? 'readelf (binutils) is not installed' : undefined;

describe('probes: usage and bad files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'probes-cli-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Exit 2 with exactly one stderr line that names the cause and (after the dash) the fix. */
  function expectOneLineError(result: { code: number; stdout: string; stderr: string }, cause: RegExp): void {
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(cause);
    expect(lines[0]).toMatch(/ — \S/);
  }

  it('rejects a non-ELF file, a missing file and a directory with exit 2', async () => {
    const script = join(dir, 'bitcoind');
    await writeFile(script, '#!/bin/sh\necho not really bitcoind\n');
    expectOneLineError(await cli('probes', script), new RegExp(`^regtest-harness probes: ${script}: not an ELF file — pass a compiled binary`));
    expectOneLineError(await cli('probes', join(dir, 'missing')), /missing: no such file — check the path/);
    expectOneLineError(await cli('probes', dir), /: is a directory, not an ELF binary — pass the path of the binary itself/);
    expectOneLineError(await cli('probes', '--diff', script, dir), /not an ELF file|is a directory/);
  });

  it('rejects wrong argument counts and unknown flags with exit 2', async () => {
    expectOneLineError(await cli('probes'), /expected one binary, got 0 — pass one path/);
    expectOneLineError(await cli('probes', 'a', 'b'), /expected one binary, got 2 .* --diff a b/);
    expectOneLineError(await cli('probes', '--diff', 'a'), /--diff: expected two binaries, got 1/);
    expectOneLineError(await cli('probes', '--jsn', 'a'), /Unknown option '--jsn'.* --help/);
  });

  it('documents both JSON contracts in --help', async () => {
    const { code, stdout } = await cli('probes', '--help');
    expect(code).toBe(0);
    expect(stdout).toContain('"provider":"net","name":"inbound_message","location":"0x…","semaphore":"0x…"|null');
    expect(stdout).toContain('"changed":[{"probe":"mempool:replaced","changes":["argument count 7 → 8"]');
    const top = await cli('--help');
    expect(top.stdout).toMatch(/^\s+probes\s+list the USDT probes/m);
  });
});

describe.skipIf(skipReason !== undefined)(`probes on the sdt fixture${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  if (!toolchain.ok) return;
  let base: string;
  let variant: string;
  beforeAll(async () => {
    base = await buildSdtFixture(toolchain, { optimize: 'O2' });
    variant = await buildSdtFixture(toolchain, { optimize: 'O2', variant: true });
  });

  it('--json prints one array that agrees with readelf -n, keys in contract order', async () => {
    const { code, stdout, stderr } = await cli('probes', base, '--json');
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout.trimEnd().split('\n')).toHaveLength(1);
    const listed = JSON.parse(stdout) as Record<string, unknown>[];
    expect(listed.every((n) => Object.keys(n).join(',') === 'provider,name,location,semaphore,args')).toBe(true);
    const readelf = await readelfProbes(base);
    expect(
      listed.map((n) => ({
        provider: n.provider,
        name: n.name,
        location: BigInt(n.location as string),
        semaphore: n.semaphore === null ? 0n : BigInt(n.semaphore as string),
        argumentLine: (n.args as string[]).join(' '),
      })),
    ).toEqual(readelf.map(({ base: _base, ...rest }) => rest));
  });

  it('human output groups by provider with semaphore, sites and argument sizes', async () => {
    const { code, stdout } = await cli('probes', base);
    expect(code).toBe(0);
    const notes = (await readelfProbes(base)).length; // inlined sites vary by compiler
    expect(stdout).toContain(`${base}: 15 probes in ${notes} notes, 2 providers\n`);
    expect(stdout).toMatch(/^fixture \(12\)$/m);
    expect(stdout).toMatch(/^gated \(3\)$/m);
    expect(stdout).toMatch(/^ {2}twelve\s+no\s+1\s+12 {2}-1 1 -2 2 -4 4 -8 8 8 8 -4 -4$/m);
    expect(stdout).toMatch(/^ {2}message\s+yes\s+1\s+6 {2}-8 8 8 8 8 8$/m);
    expect(stdout).toMatch(/^ {2}disagreeing\s+no\s+2\s+1 {2}-4 {2}\(call sites disagree\)$/m);
  });

  it('--diff --json reports added, removed and changed probes exactly, and exits 0', async () => {
    const { code, stdout, stderr } = await cli('probes', '--diff', base, variant, '--json');
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const diff = JSON.parse(stdout);
    expect(diff.a).toBe(base);
    expect(diff.b).toBe(variant);
    expect(diff.summary).toEqual({ a: 15, b: 15, added: 1, removed: 1, changed: 5, unchanged: 9 });
    expect(diff.added).toEqual([{ probe: 'fixture:only_in_variant', sites: 1, signature: { semaphore: false, args: ['2'] } }]);
    expect(diff.removed).toEqual([{ probe: 'fixture:only_in_base', sites: 1, signature: { semaphore: false, args: ['-4', '4'] } }]);
    expect(diff.changed).toEqual([
      {
        probe: 'fixture:grows',
        changes: ['argument count 7 → 8'],
        a: { semaphore: false, args: ['8', '-4', '-8', '8', '8', '-4', '-8'] },
        b: { semaphore: false, args: ['8', '-4', '-8', '8', '8', '-4', '-8', '1'] },
      },
      { probe: 'fixture:widens', changes: ['argument 2 size 4 → 8 bytes'], a: { semaphore: false, args: ['-8', '-4', '1'] }, b: { semaphore: false, args: ['-8', '-8', '1'] } },
      { probe: 'gated:message', changes: ['semaphore lost'], a: { semaphore: true, args: ['-8', '8', '8', '8', '8', '8'] }, b: { semaphore: false, args: ['-8', '8', '8', '8', '8', '8'] } },
      { probe: 'gated:connection', changes: ['semaphore lost'], a: { semaphore: true, args: ['-8', '8', '8', '4', '8'] }, b: { semaphore: false, args: ['-8', '8', '8', '4', '8'] } },
      { probe: 'gated:zero', changes: ['semaphore lost'], a: { semaphore: true, args: [] }, b: { semaphore: false, args: [] } },
    ]);
    expect(diff.inconsistent).toEqual([
      { side: 'a', probe: 'fixture:disagreeing', signatures: [{ semaphore: false, args: ['-4'] }, { semaphore: false, args: ['8'] }] },
      { side: 'b', probe: 'fixture:disagreeing', signatures: [{ semaphore: false, args: ['-4'] }, { semaphore: false, args: ['8'] }] },
    ]);
  });

  it('human --diff names each difference on its own line', async () => {
    const { code, stdout } = await cli('probes', '--diff', base, variant);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^added in b \(1\)\n {2}\+ fixture:only_in_variant {2}1 arg \(2\)$/m);
    expect(stdout).toMatch(/^removed from a \(1\)\n {2}- fixture:only_in_base {2}2 args \(-4 4\)$/m);
    expect(stdout).toContain('  ~ fixture:grows: argument count 7 → 8\n');
    expect(stdout).toContain('  ~ gated:zero: semaphore lost\n');
    expect(stdout).toMatch(/^unchanged \(9\)$/m);
    expect(stdout).toContain('! a: fixture:disagreeing has 2 sites with 1 arg (-4) | 1 arg (8)');
  });

  it('a binary diffed with itself has no differences', async () => {
    const { code, stdout } = await cli('probes', '--diff', base, base, '--json');
    expect(code).toBe(0);
    expect(JSON.parse(stdout).summary).toEqual({ a: 15, b: 15, added: 0, removed: 0, changed: 0, unchanged: 15 });
  });
});
