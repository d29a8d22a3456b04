import { beforeAll, describe, expect, it } from 'vitest';
import { checkStartsWith } from '../../tracing/checks/sequence-checks.js';
import { handshake } from '../../scenarios/handshake.js';
import { describeFailures, type ScenarioResult } from '../../scenarios/runner.js';
import type { Scenario } from '../../scenarios/types.js';
import { bitcoindSkipReason } from '../helpers/bitcoind.js';
import { runWithLogTracer } from '../helpers/scenario.js';

/** The handshake, expecting the listener to send verack before version: wrong, as Core answers version with version. */
const listenerVeracksFirst: Scenario = {
  ...handshake,
  name: 'handshake-wrong-order',
  expectations: (context) => context.edges.map((edge) => checkStartsWith(context.trace.connection(edge.from, edge.to), 'listener', ['verack', 'version'])),
};

describe.skipIf(bitcoindSkipReason())('a wrong expectation on real bitcoind', () => {
  let result: ScenarioResult;
  beforeAll(async () => {
    result = await runWithLogTracer(listenerVeracksFirst);
  });

  it('fails the run, with the failure bundle', () => {
    expect(result.passed).toBe(false);
    expect(result.failureBundle).toMatch(/node0 debug\.log/);
  });

  it('reads as claim, finding, then the side-by-side table marked where it breaks', () => {
    const text = describeFailures(result);
    expect(text).toContain("✗ node0 (listener) starts with 'verack', 'version'");
    expect(text).toContain("row 1: expected 'verack', observed 'version'");
    const table = text.split('\n').filter((line) => line.includes('│'));
    // Header: the expected column, then what each side actually sent.
    expect(table[0]).toMatch(/expected\s+│ node0 \(listener\) sent\s+│ node1 \(dialer\) sent/);
    // Row 1 carries the mismatch marker, the expectation, and both sides' real first messages.
    const row1 = table.find((line) => /^\s*✗\s+1 │/.test(line));
    expect(row1, text).toBeDefined();
    expect(row1).toMatch(/✗\s+1 │ verack\s+.*│ version\s+\d+ B\s+│ version\s+\d+ B/);
  });
});
