import { HarnessError } from '../harness/common/errors.js';
import { addrRelay } from './addr-relay.js';
import { blockRelay } from './block-relay.js';
import { handshake, handshakeV2 } from './handshake.js';
import { misbehaving } from './misbehaving.js';
import { peerEviction } from './peer-eviction.js';
import { peerHandshake } from './peer-handshake.js';
import { peerMalformedFrames } from './peer-malformed-frames.js';
import { peerMisbehaving } from './peer-misbehaving.js';
import { peerTxRelay } from './peer-tx-relay.js';
import { reconnect } from './reconnect.js';
import { txRelay } from './tx-relay.js';
import type { Scenario } from './types.js';

export { checkScenarioOptions, runScenario, describeFailures, type RunScenarioOptions, type ScenarioResult } from './runner.js';
export type { Scenario, ScenarioContext, CheckResult } from './types.js';
export { notApplicableReason, notApplicableError, assertApplies } from './applicability.js';
export { handshake, handshakeV2, blockRelay, txRelay, addrRelay, reconnect, misbehaving, peerHandshake, peerMisbehaving, peerEviction, peerTxRelay, peerMalformedFrames };

/** Every scenario the CLI knows, in the order `regtest-harness scenarios` lists them. */
export const SCENARIOS: readonly Scenario[] = [handshake, handshakeV2, blockRelay, txRelay, addrRelay, reconnect, misbehaving, peerHandshake, peerMisbehaving, peerEviction, peerTxRelay, peerMalformedFrames];

export function findScenario(name: string): Scenario {
  const scenario = SCENARIOS.find((s) => s.name === name);
  if (!scenario) {
    throw new HarnessError('UNKNOWN_SCENARIO', `unknown scenario '${name}'`, {
      fix: `pick one of: ${SCENARIOS.map((s) => s.name).join(', ')} (regtest-harness scenarios lists them)`,
    });
  }
  return scenario;
}
