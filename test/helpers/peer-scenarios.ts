import { identifyBinary } from '../../harness/binary.js';
import { usdtReadiness } from '../../harness/doctor/tracer-decision.js';
import { runScenario, type RunScenarioOptions, type ScenarioResult } from '../../scenarios/runner.js';
import type { Scenario } from '../../scenarios/types.js';
import type { CoreBuild } from './core-builds.js';

/** Why the usdt tracer cannot run on this build here, or false. */
export async function usdtSkipReason(build: CoreBuild | undefined): Promise<string | false> {
  if (!build) return 'no Bitcoin Core build with USDT (see test/helpers/core-builds.ts)';
  const readiness = await usdtReadiness((await identifyBinary(build.bitcoind, 'env', 'BITCOIND')).elfPath).catch((e: Error) => ({ ok: false as const, reason: e.message }));
  return readiness.ok ? false : `USDT cannot run here: ${'reason' in readiness ? readiness.reason : 'unknown'}`;
}

/** A scenario on a Core build with the usdt tracer. */
export function runWithUsdt(scenario: Scenario, build: CoreBuild, options: RunScenarioOptions = {}): Promise<ScenarioResult> {
  return runScenario(scenario, { tracer: 'usdt', bitcoind: build.bitcoind, ...options });
}
