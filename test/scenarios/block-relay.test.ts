import { beforeAll, describe, expect, it } from 'vitest';
import { blockRelay } from '../../scenarios/block-relay.js';
import type { ScenarioResult } from '../../scenarios/runner.js';
import { bitcoindSkipReason } from '../helpers/bitcoind.js';
import { failureReport, messageTypes, runWithLogTracer } from '../helpers/scenario.js';

describe.skipIf(bitcoindSkipReason())('scenario block-relay (3-node line, log tracer)', () => {
  let result: ScenarioResult;
  beforeAll(async () => {
    result = await runWithLogTracer(blockRelay);
  });

  it('passes on real bitcoind', () => {
    expect(result.passed, failureReport(result)).toBe(true);
  });

  it('relays each of the 3 blocks over each edge once: one full block, then two compact blocks', () => {
    // Line 1>0, 2>1: the blocks travel 0 → 1 → 2.
    for (const [from, to] of [
      [0, 1],
      [1, 2],
    ] as const) {
      const sent = messageTypes(result.events, from, to, 'out');
      expect(sent.filter((t) => t === 'block'), `node${from} → node${to}`).toHaveLength(1);
      expect(sent.filter((t) => t === 'cmpctblock'), `node${from} → node${to}`).toHaveLength(2);
      // Blocks flow away from the miner only.
      expect(messageTypes(result.events, to, from, 'out').filter((t) => t === 'block' || t === 'cmpctblock')).toEqual([]);
    }
  });

  it('refuses a topology with a cycle, naming the fix', async () => {
    await expect(runWithLogTracer(blockRelay, { topology: 'ring' })).resolves.toMatchObject({
      passed: false,
      checks: [expect.objectContaining({ finding: expect.stringContaining('needs a tree of connections') })],
    });
  });
});
