import { beforeAll, describe, expect, it } from 'vitest';
import { handshake } from '../../scenarios/handshake.js';
import type { ScenarioResult } from '../../scenarios/runner.js';
import { bitcoindSkipReason } from '../helpers/bitcoind.js';
import { failureReport, messageTypes, runWithLogTracer } from '../helpers/scenario.js';

describe.skipIf(bitcoindSkipReason())('scenario handshake (v1 transport, log tracer)', () => {
  let result: ScenarioResult;
  beforeAll(async () => {
    result = await runWithLogTracer(handshake);
  });

  it('passes on real bitcoind', () => {
    expect(result.passed, failureReport(result)).toBe(true);
  });

  it('traced both sides from their first message: each node sent exactly one version', () => {
    expect(messageTypes(result.events, 1, 0, 'out').filter((t) => t === 'version')).toHaveLength(1);
    expect(messageTypes(result.events, 0, 1, 'out').filter((t) => t === 'version')).toHaveLength(1);
    expect(messageTypes(result.events, 0, 1, 'in')[0]).toBe('version');
  });
});
