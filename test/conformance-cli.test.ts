/**
 * `regtest-harness conformance`: its contracts (help, usage errors, exit 2 where USDT cannot run,
 * the --json shape and exit 0 on the newest usable Core build, the HTML report).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { newestCoreBuild } from './helpers/core-builds.js';
import { conformanceSkipReason } from './helpers/conformance.js';
import { bitcoindSkipReason, testBinary } from './helpers/bitcoind.js';
import { readProbeNotes } from '../tracing/elf-notes.js';
import { catalog } from '../tracing/catalog.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conformance-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('conformance: usage', () => {
  it('documents the matrix cells, the JSON shape and the exit codes in --help', async () => {
    const { code, stdout } = await runCli('conformance', '--help');
    expect(code).toBe(0);
    expect(stdout).toContain('[--bitcoind PATH[,PATH…]] [--json] [--report FILE.html]');
    expect(stdout).toContain('{"name":"mempool:replaced","present":true,"expected":true,"fired":1,"ok":true,"problems":[]}');
    for (const cell of ['✔ n', '✘ arg', '—', '!']) expect(stdout).toContain(cell);
    expect((await runCli('--help')).stdout).toMatch(/^\s+conformance\s+fire all of Core's tracepoints/m);
  });

  it('rejects a report that is not HTML, an empty --bitcoind and unknown flags with exit 2 and one line', async () => {
    for (const argv of [['--report', join(dir, 'x.txt')], ['--bitcoind', ','], ['--jsn']]) {
      const result = await runCli('conformance', ...argv);
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.stderr.trimEnd().split('\n'), argv.join(' ')).toHaveLength(1);
    }
  });
});

const knotsSkip = bitcoindSkipReason();
describe.skipIf(knotsSkip !== false)(`conformance where USDT cannot run${knotsSkip ? ` (skipped: ${knotsSkip})` : ''}`, () => {
  it('exits 2 naming why, on a bitcoind without USDT probes', async () => {
    const binary = await testBinary();
    if ((await readProbeNotes(binary.elfPath)).length > 0) return; // this machine's default bitcoind has USDT: nothing to show
    const result = await runCli('conformance', '--bitcoind', binary.path);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/cannot run the conformance suite on .*: it needs the usdt tracer, and .* — /);
  });
});

const skip = conformanceSkipReason();
const build = newestCoreBuild();
describe.skipIf(skip !== false)(`conformance --json on the newest Core build${skip ? ` (skipped: ${skip})` : ` (${build?.tag})`}`, () => {
  it('prints one JSON object with 20 entries in catalog order, writes the report and exits 0', { timeout: 180_000 }, async () => {
    const report = join(dir, 'conformance.html');
    const result = await runCli('conformance', '--bitcoind', build!.bitcoind, '--json', '--report', report);
    const json = JSON.parse(result.stdout) as { binaries: { path: string; version: string; tracepoints: { name: string; ok: boolean; problems: string[] }[] }[] };
    expect(json.binaries).toHaveLength(1);
    expect(json.binaries[0]!.path).toBe(build!.bitcoind);
    expect(json.binaries[0]!.tracepoints.map((t) => t.name)).toEqual(catalog.map((r) => r.name));
    expect(json.binaries[0]!.tracepoints.filter((t) => !t.ok)).toEqual([]);
    expect(result.code).toBe(0);
    const html = await readFile(report, 'utf8');
    expect(html).toContain('<h1>Tracepoint conformance</h1>');
    expect(html).toContain('Every cell is what the catalog expects.');
  });
});
