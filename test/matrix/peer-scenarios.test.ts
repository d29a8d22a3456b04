import { beforeAll, describe } from 'vitest';
import { peerEviction } from '../../scenarios/peer-eviction.js';
import { peerHandshake } from '../../scenarios/peer-handshake.js';
import { peerMalformedFrames } from '../../scenarios/peer-malformed-frames.js';
import { peerMisbehaving } from '../../scenarios/peer-misbehaving.js';
import { peerTxRelay } from '../../scenarios/peer-tx-relay.js';
import type { ScenarioResult } from '../../scenarios/runner.js';
import { coreBuilds, coreBuildsSkipReason } from '../helpers/core-builds.js';
import { peerScenarioExpectations, runWithUsdt, usdtSkipReason } from '../helpers/peer-scenarios.js';

/** The four test-peer scenarios on every shared Core build, usdt tracer (issue 8). */
const SCENARIOS = [peerHandshake, peerMisbehaving, peerEviction, peerTxRelay, peerMalformedFrames];
const builds = coreBuilds();

describe.skipIf(coreBuildsSkipReason())('peer scenarios on every Core build', () => {
  for (const build of builds) {
    for (const scenario of SCENARIOS) {
      describe(`${scenario.name} on ${build.tag} (usdt)`, async () => {
        const skip = await usdtSkipReason(build);
        describe.skipIf(skip)(skip ? `skipped: ${skip}` : 'run', () => {
          let result: ScenarioResult;
          beforeAll(async () => {
            result = await runWithUsdt(scenario, build);
          }, 150_000);
          peerScenarioExpectations(() => result);
        });
      });
    }
  }
});
