import { describe, expect, it } from 'vitest';
import { resolveBitcoind, type BitcoindBinary } from '../../harness/binary.js';
import { isHarnessError } from '../../harness/common/errors.js';
import { checkBitcoindProbes } from '../../harness/doctor/probes.js';
import { compareVersions } from '../../harness/common/version.js';
import { notApplicableReason, runScenario, SCENARIOS } from '../../scenarios/index.js';
import { coreBuilds, coreBuildsSkipReason } from '../helpers/core-builds.js';
import { failureReport } from '../helpers/scenario.js';

/**
 * Every scenario on every shared Core build, with the usdt tracer: each one passes, or is "not
 * applicable" exactly where the scenario itself declares so (Scenario.appliesTo) — and then the
 * runner refuses it before starting anything. One describe per build; within it the scenarios run
 * concurrently (each on its own ports and datadirs; bpftrace sessions are shared through the
 * tracer daemon of vitest.matrix.config.ts's globalSetup).
 */
const skip = coreBuildsSkipReason();
/**
 * Per build, why USDT cannot trace it at all, else undefined. A build altered after it was built
 * (test/helpers/core-builds.ts) is skipped by name; one the doctor's probe check refuses for any
 * other reason is one red test instead of seven puzzling ones.
 */
const unusable = new Map<string, string>();
const binaries = new Map<string, BitcoindBinary>();
for (const build of coreBuilds()) {
  if (build.unusable) continue;
  try {
    binaries.set(build.tag, await resolveBitcoind({ bitcoind: build.bitcoind }));
    const probes = await checkBitcoindProbes(build.bitcoind);
    if (probes.status === 'missing') unusable.set(build.tag, `${probes.detail} — ${probes.fix}`);
  } catch (error) {
    unusable.set(build.tag, isHarnessError(error) ? error.oneLine : String(error));
  }
}

describe.skipIf(skip)(skip ? `every scenario on every Core build — skipped: ${skip}` : 'every scenario on every Core build (usdt tracer)', () => {
  for (const build of coreBuilds()) {
    describe.skipIf(build.unusable !== undefined).concurrent(`bitcoind ${build.tag}${build.unusable ? ` — skipped: ${build.unusable}` : ''}`, () => {
      const broken = unusable.get(build.tag);
      it('carries intact USDT probes (the doctor\'s probe check)', () => {
        expect(broken, broken).toBeUndefined();
      });
      const binary = binaries.get(build.tag);
      if (!binary) return;
      it('is the version its directory names', () => {
        expect(compareVersions(binary.version, build.version), `${build.bitcoind} says it is v${binary.version}`).toBe(0);
      });
      for (const scenario of SCENARIOS) {
        const declaredNa = notApplicableReason(scenario, binary);
        const title = `${scenario.name}${declaredNa ? ` — n/a: ${declaredNa}` : ''}${broken ? ' — skipped: the build cannot be traced' : ''}`;
        it.skipIf(broken !== undefined)(title, async () => {
          const reason = notApplicableReason(scenario, binary);
          if (reason !== undefined) {
            // Declared n/a: a one-line reason, and the runner refuses before any node starts.
            expect(reason).not.toContain('\n');
            const refused = await runScenario(scenario, { tracer: 'usdt', bitcoind: binary }).then(
              () => undefined,
              (error: unknown) => error,
            );
            expect(isHarnessError(refused, 'NOT_APPLICABLE'), String(refused)).toBe(true);
            return;
          }
          const result = await runScenario(scenario, { tracer: 'usdt', bitcoind: binary });
          expect(result.tracer).toBe('usdt');
          expect(result.passed, failureReport(result)).toBe(true);
        });
      }
    });
  }
});
