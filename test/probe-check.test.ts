/**
 * `probes <binary> --check`: the catalog's per-version layout against real ELF notes. Every shared
 * Core build must agree (exit 0); an emitter variant with one wrong C type must not (exit 1, the
 * mismatch named: probe, argument, catalog type, note type).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { coreBuilds, coreBuildsSkipReason } from './helpers/core-builds.js';
import { buildEmitter, buildEmitterVariant } from './helpers/emitter.js';
import { checkProbes } from '../tracing/probe-check.js';
import { readProbeNotes } from '../tracing/elf-notes.js';

const builds = coreBuilds();
const buildsSkip = coreBuildsSkipReason();
const ccSkip =
  spawnSync('cc', ['--version'], { stdio: 'ignore' }).status !== 0
    ? 'no C compiler (cc) to build the emitter'
    : !['/usr/include/sys/sdt.h', '/usr/include/x86_64-linux-gnu/sys/sdt.h'].some((h) => existsSync(h))
      ? 'sys/sdt.h is missing (apt-get install systemtap-sdt-dev)'
      : false;

describe.skipIf(buildsSkip !== false)(`probes --check on the shared Core builds${buildsSkip ? ` (skipped: ${buildsSkip})` : ''}`, () => {
  for (const build of builds) {
    it(`${build.tag}: the notes agree with the catalog (exit 0)`, async () => {
      const result = await runCli('probes', build.bitcoind, '--check', '--json');
      expect(result.stderr).toBe('');
      const report = JSON.parse(result.stdout) as { version: string; checked: number; mismatches: unknown[] };
      expect(report.mismatches).toEqual([]);
      expect(result.code).toBe(0);
      expect(report.checked).toBeGreaterThanOrEqual(11);
    });
  }

  it('the check sees version differences: the newest build against an older layout disagrees', async () => {
    const newest = builds.at(-1)!;
    const oldest = builds[0]!;
    if (newest === oldest) return;
    const check = checkProbes(await readProbeNotes(newest.bitcoind), oldest.version);
    expect(check.mismatches.length).toBeGreaterThan(0);
  });
});

describe.skipIf(ccSkip !== false)(`probes --check on the USDT emitter${ccSkip ? ` (skipped: ${ccSkip})` : ''}`, () => {
  it('the emitter (Core v29.0 types) agrees with the v29.0 layout', async () => {
    const emitter = await buildEmitter();
    const result = await runCli('probes', emitter, '--check', '--core-version', '29.0');
    expect(result.stdout).toContain('every probe agrees with the catalog');
    expect(result.code).toBe(0);
  });

  it('an emitter variant with mempool:added vsize unsigned exits 1 naming probe, argument, catalog and note types', async () => {
    const variant = await buildEmitterVariant((source) =>
      source.replace('STAP_PROBE3(mempool, added, B(a[0]), (int32_t)a[1].i,', 'STAP_PROBE3(mempool, added, B(a[0]), (uint32_t)a[1].u,'),
    );
    const human = await runCli('probes', variant, '--check', '--core-version', '29.0');
    expect(human.code).toBe(1);
    expect(human.stdout).toContain('1 mismatch:');
    expect(human.stdout).toContain('mempool:added argument 2 (vsize): catalog -4 (int32), note 4');
    const json = await runCli('probes', variant, '--check', '--core-version', '29.0', '--json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout).mismatches).toEqual([{ probe: 'mempool:added', argument: 'argument 2 (vsize)', catalog: '-4 (int32)', note: '4' }]);
  });

  it('usage errors exit 2: --core-version without --check, a bad version, a non-bitcoind without --core-version', async () => {
    const emitter = await buildEmitter();
    expect((await runCli('probes', emitter, '--core-version', '29.0')).code).toBe(2);
    const bad = await runCli('probes', emitter, '--check', '--core-version', 'banana');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/'banana' is not a version/);
    const unknown = await runCli('probes', emitter, '--check');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/is not bitcoind/);
  });
});
