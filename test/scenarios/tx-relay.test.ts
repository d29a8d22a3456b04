import { beforeAll, describe, expect, it } from 'vitest';
import type { ScenarioResult } from '../../scenarios/runner.js';
import { txRelay } from '../../scenarios/tx-relay.js';
import { bitcoindSkipReason } from '../helpers/bitcoind.js';
import { failureReport, messageTypes, runWithLogTracer } from '../helpers/scenario.js';

describe.skipIf(bitcoindSkipReason())('scenario tx-relay (1>0, log tracer)', () => {
  let result: ScenarioResult;
  beforeAll(async () => {
    result = await runWithLogTracer(txRelay);
  });

  it('passes on real bitcoind', () => {
    expect(result.passed, failureReport(result)).toBe(true);
  });

  it('sends the transaction once, only from the wallet node to the other', () => {
    expect(messageTypes(result.events, 0, 1, 'out').filter((t) => t === 'tx')).toHaveLength(1);
    expect(messageTypes(result.events, 1, 0, 'out').filter((t) => t === 'tx')).toHaveLength(0);
    // The log tracer has no payloads, so the MSG_WTX check is not among the checks.
    expect(result.checks.some((c) => c.claim.includes('MSG_WTX'))).toBe(false);
  });
});
