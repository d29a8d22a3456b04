import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identifyBinary, resolveBitcoind } from '../harness/binary.js';
import { HarnessError } from '../harness/common/errors.js';
import { findRealBitcoind } from './helpers/provision-real-bitcoind.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rh-binary-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function script(name: string, body: string, mode = 0o755): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, body);
  await chmod(path, mode);
  return path;
}

async function failure(promise: Promise<unknown>): Promise<HarnessError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(HarnessError);
  return error as HarnessError;
}

describe('identifyBinary refuses what is not a runnable bitcoind', () => {
  it('a missing path: BINARY_NOT_FOUND naming the path and how to get one', async () => {
    const missing = join(dir, 'no-such-bitcoind');
    const error = await failure(identifyBinary(missing, 'flag', 'test'));
    expect(error.code).toBe('BINARY_NOT_FOUND');
    expect(error.message).toContain(missing);
    expect(error.fix).toMatch(/--bitcoind|BITCOIND|provision/);
  });

  it('a file without the execute bit: BINARY_NOT_EXECUTABLE with a chmod fix', async () => {
    const path = await script('not-executable', '#!/bin/sh\necho "Bitcoin Core daemon version v29.0.0"\n', 0o644);
    const error = await failure(identifyBinary(path, 'flag', 'test'));
    expect(error.code).toBe('BINARY_NOT_EXECUTABLE');
    expect(error.message).toContain(path);
    expect(error.fix).toBe(`run 'chmod +x ${path}'`);
  });

  it('/bin/true (prints nothing): NOT_BITCOIND quoting the empty output', async () => {
    const error = await failure(identifyBinary('/bin/true', 'flag', 'test'));
    expect(error.code).toBe('NOT_BITCOIND');
    expect(error.message).toBe("/bin/true is not bitcoind: `-version` printed ''");
    expect(error.fix).toMatch(/--bitcoind.*BITCOIND/);
  });

  it('a script printing something else: NOT_BITCOIND quoting what it printed', async () => {
    const path = await script('impostor', '#!/bin/sh\necho "Bitcoin Core RPC client version v29.0.0"\n');
    const error = await failure(identifyBinary(path, 'flag', 'test'));
    expect(error.code).toBe('NOT_BITCOIND');
    expect(error.message).toContain(path);
    expect(error.message).toContain("printed 'Bitcoin Core RPC client version v29.0.0'");
  });

  it('an executable text file with no #! line: NOT_BITCOIND, not a crash', async () => {
    const path = await script('no-shebang', 'just some text\n');
    const error = await failure(identifyBinary(path, 'flag', 'test'));
    expect(error.code).toBe('NOT_BITCOIND');
    expect(error.message).toContain(path);
  });
});

describe('identifyBinary reads the version line', () => {
  it('parses Core and Knots lines; an unknown wrapper keeps elfPath = path and says so', async () => {
    const core = await script('fake-core', '#!/bin/sh\necho "Bitcoin Core daemon version v29.0.0"\necho "Copyright"\n');
    const knots = await script('fake-knots', '#!/bin/sh\necho "Bitcoin Knots daemon version v29.4.3.knots20260508"\n');
    const c = await identifyBinary(core, 'flag', 'because');
    expect(c).toMatchObject({ path: core, elfPath: core, version: '29.0.0', flavor: 'core', source: 'flag', versionLine: 'Bitcoin Core daemon version v29.0.0' });
    expect(c.reason).toMatch(/^because \(.*not an ELF file and not a regtest-harness wrapper/);
    const k = await identifyBinary(knots, 'env', 'k');
    expect(k).toMatchObject({ version: '29.4.3', flavor: 'knots', source: 'env' });
  });

  it('caches per (path, mtime): a rewritten file is identified again', async () => {
    const path = await script('changing', '#!/bin/sh\necho "Bitcoin Core daemon version v28.1.0"\n');
    expect((await identifyBinary(path, 'flag', 'a')).version).toBe('28.1.0');
    await new Promise((r) => setTimeout(r, 20));
    await script('changing', '#!/bin/sh\necho "Bitcoin Core daemon version v29.1.0"\n');
    expect((await identifyBinary(path, 'flag', 'b')).version).toBe('29.1.0');
  });
});

describe('resolveBitcoind order', () => {
  it('--bitcoind wins over BITCOIND; BITCOIND wins over PATH; PATH is searched', async () => {
    const a = await script('a-bitcoind', '#!/bin/sh\necho "Bitcoin Core daemon version v27.0.0"\n');
    const b = await script('b-bitcoind', '#!/bin/sh\necho "Bitcoin Core daemon version v26.0.0"\n');
    const pathDir = await mkdtemp(join(dir, 'pathdir-'));
    await writeFile(join(pathDir, 'bitcoind'), '#!/bin/sh\necho "Bitcoin Core daemon version v25.0.0"\n', { mode: 0o755 });
    const env = { BITCOIND: b, PATH: `/nonexistent:${pathDir}` };
    expect((await resolveBitcoind({ bitcoind: a, env, provision: false })).source).toBe('flag');
    expect(await resolveBitcoind({ env, provision: false })).toMatchObject({ source: 'env', version: '26.0.0' });
    expect(await resolveBitcoind({ env: { PATH: env.PATH }, provision: false, cacheDir: dir })).toMatchObject({
      source: 'path',
      path: join(pathDir, 'bitcoind'),
      version: '25.0.0',
    });
  });

  it('nothing anywhere and provision: false → BINARY_NOT_FOUND with the ways to supply one', async () => {
    const emptyCache = await mkdtemp(join(dir, 'cache-'));
    const error = await failure(resolveBitcoind({ env: { PATH: '/nonexistent' }, cacheDir: emptyCache, provision: false }));
    expect(error.code).toBe('BINARY_NOT_FOUND');
    expect(error.message).toContain(emptyCache);
    expect(error.fix).toMatch(/--bitcoind.*BITCOIND.*provision/);
  });

  it('--bitcoind together with --source is refused as contradictory', async () => {
    const error = await failure(resolveBitcoind({ bitcoind: '/bin/true', source: 'release' }));
    expect(error.code).toBe('BAD_OPTION');
  });

  it('a real bitcoind is identified; elfPath is its ELF or the reason says why not', async (ctx) => {
    const real = await findRealBitcoind();
    if (!real) return ctx.skip('no real bitcoind (set BITCOIND, put one on PATH, or run regtest-harness provision)');
    const id = await identifyBinary(real.path, 'flag', 'real');
    expect(id.versionLine).toMatch(/^Bitcoin (Core|Knots) /);
    const { readFile } = await import('node:fs/promises');
    const isElf = (await readFile(id.elfPath)).subarray(0, 4).toString('latin1') === '\x7fELF';
    // A foreign wrapper script cannot be looked through; then the reason must say so.
    if (!isElf) expect(id.reason).toContain('not an ELF file and not a regtest-harness wrapper');
  });
});
