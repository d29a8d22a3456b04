import { existsSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { stateCheck, type Scenario } from '../scenarios/types.js';
import { bitcoindSkipReason } from './helpers/bitcoind.js';
import { runWithLogTracer } from './helpers/scenario.js';

/** Issue 10: a node that dies mid-scenario was reported as `listwallets: connect ECONNREFUSED`. */
const killsNode1: Scenario = {
  name: 'kills-node1',
  summary: 'node1 is killed with SIGKILL in the middle of the actions',
  minNodes: 2,
  defaults: { nodes: 2, topology: 'line' },
  async act({ network }) {
    process.kill(network.node(1).pid!, 'SIGKILL');
    await network.ensureWallet(1); // the next action meets a dead node
  },
  expectations: () => [stateCheck(true, 'nothing else', '')],
};

describe.skipIf(bitcoindSkipReason())('a node that crashes during run', () => {
  test('is reported as a crash with its log tail, and the bundle does not point at a deleted folder as if it were there', async () => {
    const result = await runWithLogTracer(killsNode1);
    expect(result.passed).toBe(false);
    const [crash] = result.checks;
    expect(crash!.pass).toBe(false);
    expect(crash!.claim).toBe("every node stays up during the scenario's actions");
    expect(crash!.finding).toMatch(/^node1 crashed \(signal SIGKILL\) during the scenario's actions; the actions then failed with: listwallets: .*(ECONNREFUSED|ECONNRESET|socket hang up)/);
    expect(crash!.report).toMatch(/── node1 debug\.log \(last 30 lines\) ──\n.*\[net\]/);
    expect(result.checks.filter((c) => /ECONNREFUSED|ECONNRESET/.test(c.finding) && !c.finding.startsWith('node1 crashed'))).toEqual([]);

    const dir = /══ network (\S+) \(removed after the run; --keep \/ keep: true keeps it\)/.exec(result.failureBundle ?? '')?.[1];
    expect(dir, result.failureBundle).toBeDefined();
    expect(existsSync(dir!)).toBe(false);
    expect(result.failureBundle).toContain('── node1 debug.log');
  });
});

describe.skipIf(bitcoindSkipReason())('a scenario with zero checks', () => {
  test('fails: a scenario that asserts nothing cannot pass', async () => {
    const assertsNothing: Scenario = { name: 'asserts-nothing', summary: 'no expectations', minNodes: 1, defaults: { nodes: 1, topology: 'none' }, expectations: () => [] };
    const result = await runWithLogTracer(assertsNothing);
    expect(result.passed).toBe(false);
    expect(result.checks).toEqual([{ pass: false, claim: "scenario 'asserts-nothing' checks something", finding: 'its expectations returned no checks, so nothing was asserted', report: '' }]);
  });
});
