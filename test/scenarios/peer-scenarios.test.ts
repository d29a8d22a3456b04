import { beforeAll, describe } from 'vitest';
import { peerEviction } from '../../scenarios/peer-eviction.js';
import { peerHandshake } from '../../scenarios/peer-handshake.js';
import { peerMalformedFrames } from '../../scenarios/peer-malformed-frames.js';
import { peerMisbehaving } from '../../scenarios/peer-misbehaving.js';
import { peerTxRelay } from '../../scenarios/peer-tx-relay.js';
import type { ScenarioResult } from '../../scenarios/runner.js';
import { bitcoindSkipReason } from '../helpers/bitcoind.js';
import { newestCoreBuild } from '../helpers/core-builds.js';
import { peerScenarioExpectations, runWithUsdt, usdtSkipReason } from '../helpers/peer-scenarios.js';
import { runWithLogTracer } from '../helpers/scenario.js';

/** The four test-peer scenarios on the test binary (log tracer) and on the newest Core build (usdt); every build: test/matrix/peer-scenarios.test.ts. */
const SCENARIOS = [peerHandshake, peerMisbehaving, peerEviction, peerTxRelay, peerMalformedFrames];
const newest = newestCoreBuild();
const usdtSkip = await usdtSkipReason(newest);

for (const scenario of SCENARIOS) {
  describe.skipIf(bitcoindSkipReason())(`scenario ${scenario.name} (test binary, log tracer)`, () => {
    let result: ScenarioResult;
    beforeAll(async () => {
      result = await runWithLogTracer(scenario);
    }, 120_000);
    peerScenarioExpectations(() => result);
  });

  describe.skipIf(usdtSkip)(`scenario ${scenario.name} (${newest?.tag ?? 'no Core build'}, usdt tracer)${usdtSkip ? ` — skipped: ${usdtSkip}` : ''}`, () => {
    let result: ScenarioResult;
    beforeAll(async () => {
      result = await runWithUsdt(scenario, newest!);
    }, 120_000);
    peerScenarioExpectations(() => result);
  });
}
