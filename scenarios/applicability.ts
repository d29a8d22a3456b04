/**
 * "Not applicable" is an outcome of its own, neither a pass nor a failure: a scenario about BIP324
 * says nothing about a bitcoind that predates it. Scenarios declare it (`Scenario.appliesTo`); the
 * runner refuses such a run before starting anything, and the CLI reports it per binary.
 */
import type { BitcoindBinary } from '../harness/binary.js';
import { HarnessError } from '../harness/common/errors.js';
import { versionAtLeast } from '../harness/common/version.js';
import type { Scenario } from './types.js';

/** Why `scenario` does not apply to `binary`, or undefined when it does. */
export function notApplicableReason(scenario: Scenario, binary: BitcoindBinary): string | undefined {
  const verdict = scenario.appliesTo?.(binary) ?? true;
  return verdict === true ? undefined : verdict;
}

/** The one-line error for a scenario that cannot apply to a binary (exit 2 in the CLI). */
export function notApplicableError(scenario: Scenario, binary: BitcoindBinary, reason: string): HarnessError {
  return new HarnessError('NOT_APPLICABLE', `scenario '${scenario.name}' is not applicable to ${describeBinary(binary)}: ${reason}`, {
    fix: 'run it with a bitcoind where it applies (--bitcoind), or pick another scenario',
  });
}

/** Throws NOT_APPLICABLE when the scenario does not apply to the binary. */
export function assertApplies(scenario: Scenario, binary: BitcoindBinary): void {
  const reason = notApplicableReason(scenario, binary);
  if (reason !== undefined) throw notApplicableError(scenario, binary, reason);
}

/** `appliesTo` for "needs Bitcoin Core `minimum` or newer, because `why`" (Knots follows Core's numbering). */
export function sinceVersion(minimum: string, why: string): (binary: BitcoindBinary) => true | string {
  return (binary) => versionAtLeast(binary, minimum) || why;
}

function describeBinary(binary: BitcoindBinary): string {
  return `${binary.flavor === 'knots' ? 'Bitcoin Knots' : 'Bitcoin Core'} v${binary.version}`;
}
