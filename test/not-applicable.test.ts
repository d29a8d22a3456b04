import { describe, expect, it } from 'vitest';
import type { BitcoindBinary } from '../harness/binary.js';
import { isHarnessError } from '../harness/common/errors.js';
import { versionAtLeast } from '../harness/common/version.js';
import { handshake, handshakeV2, notApplicableReason, runScenario, SCENARIOS } from '../scenarios/index.js';
import { bitcoindSkipReason, testBinary } from './helpers/bitcoind.js';
import { runCli } from './helpers/cli.js';
import { coreBuilds } from './helpers/core-builds.js';

/** A binary described, not run: the path does not exist, so anything that tried to start it would fail differently. */
function describedBinary(version: string): BitcoindBinary {
  return { path: '/nonexistent/bitcoind', elfPath: '/nonexistent/bitcoind', version, versionLine: `Bitcoin Core version v${version}`, flavor: 'core', source: 'flag', reason: 'described in a test' };
}

describe('scenarios declare where they apply', () => {
  it('handshake-v2 does not apply before v26.0, with a one-line reason; the rest apply everywhere (misbehaving uses a test peer where sendmsgtopeer is missing)', () => {
    for (const scenario of SCENARIOS) {
      for (const version of ['24.2.0', '25.1.0', '26.0.0', '29.0.0']) {
        const reason = notApplicableReason(scenario, describedBinary(version));
        const expectedNa = scenario === handshakeV2 && !versionAtLeast(version, '26.0');
        expect(reason !== undefined, `${scenario.name} on v${version}: ${reason}`).toBe(expectedNa);
        if (reason !== undefined) expect(reason).not.toContain('\n');
      }
    }
    expect(notApplicableReason(handshakeV2, describedBinary('25.1.0'))).toMatch(/BIP324/);
  });

  it('runScenario refuses a scenario that does not apply before starting anything', async () => {
    const refused = await runScenario(handshakeV2, { tracer: 'log', bitcoind: describedBinary('24.2.0') }).then(() => undefined, (error: unknown) => error);
    expect(isHarnessError(refused, 'NOT_APPLICABLE'), String(refused)).toBe(true);
    expect((refused as Error).message).toBe("scenario 'handshake-v2' is not applicable to Bitcoin Core v24.2.0: BIP324 v2 transport exists since Bitcoin Core v26.0");
    // The same binary with a scenario that applies gets past the check and fails on the missing file instead.
    const other = await runScenario(handshake, { tracer: 'log', bitcoind: describedBinary('24.2.0') }).then(() => undefined, (error: unknown) => error);
    expect(isHarnessError(other, 'NOT_APPLICABLE')).toBe(false);
  });
});

const oldCore = coreBuilds().find((b) => !versionAtLeast(b.version, '26.0'));
describe.skipIf(!oldCore)(oldCore ? `regtest-harness run on ${oldCore.tag} (before BIP324)` : 'regtest-harness run before BIP324 — skipped: no shared Core build older than v26', () => {
  it('exits 2 with one line saying handshake-v2 is not applicable, and starts nothing', async () => {
    const result = await runCli('run', 'handshake-v2', '--tracer', 'log', '--bitcoind', oldCore!.bitcoind);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^regtest-harness run: scenario 'handshake-v2' is not applicable to Bitcoin Core v\d+\.\d+\.\d+: BIP324 v2 transport exists since Bitcoin Core v26\.0 — /)]);
  });

  it.skipIf(bitcoindSkipReason())('with several binaries, marks that one n/a and runs the others', async () => {
    const knots = await testBinary();
    const result = await runCli('run', 'handshake-v2', '--tracer', 'log', '--bitcoind', `${oldCore!.bitcoind},${knots.path}`);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('n/a handshake-v2: not applicable to this binary: BIP324 v2 transport exists since Bitcoin Core v26.0');
    expect(result.stdout).toMatch(/^n\/a {3}Bitcoin Core version v\d+\.\d+\.\d+ {2}not applicable: /m);
    expect(result.stdout).toMatch(/^PASS {2}Bitcoin Knots/m);
    expect(result.stdout).toContain('PASS handshake-v2: 10/10 expectations held');
  });
});
