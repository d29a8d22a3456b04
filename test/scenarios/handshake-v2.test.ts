import { beforeAll, describe, expect, it } from 'vitest';
import { handshakeV2 } from '../../scenarios/handshake.js';
import type { ScenarioResult } from '../../scenarios/runner.js';
import { bitcoindSkipReason } from '../helpers/bitcoind.js';
import { failureReport, messageTypes, runWithLogTracer } from '../helpers/scenario.js';

describe.skipIf(bitcoindSkipReason())('scenario handshake-v2 (BIP324, log tracer)', () => {
  let result: ScenarioResult;
  beforeAll(async () => {
    result = await runWithLogTracer(handshakeV2);
  });

  it('passes on real bitcoind', () => {
    expect(result.passed, failureReport(result)).toBe(true);
  });

  it('shows the same handshake messages as v1: the v2 key exchange is below the message layer', () => {
    expect(messageTypes(result.events, 1, 0, 'out').slice(0, 4)).toEqual(['version', 'wtxidrelay', 'sendaddrv2', 'verack']);
    expect(result.checks.find((c) => c.claim.includes('uses v2 transport'))?.pass).toBe(true);
  });
});
