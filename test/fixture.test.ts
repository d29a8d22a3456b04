import { execa } from 'execa';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe } from 'vitest';
import { expect, test } from '../harness/vitest/index.js';
import { bitcoindSkipReason, testBinary } from './helpers/bitcoind.js';
import { ourBitcoinds } from './helpers/processes.js';

const here = dirname(fileURLToPath(import.meta.url));

describe.skipIf(bitcoindSkipReason())('the regtest fixture', () => {
  test('a spec reads like the protocol, and the fixture disposes the network', async ({ regtest }) => {
    const network = await regtest.network({ nodes: 2, topology: '1>0', tracer: 'log', bitcoind: await testBinary() });
    const connection = network.trace.connection(1, 0);
    expect(connection).toSendFirst('dialer', 'version');
    expect(connection).toSendBetween('both', ['wtxidrelay', 'sendaddrv2'], { after: 'version', before: 'verack' });
    await network.trace.waitForMessage({ node: 1, peer_node: 0, direction: 'out', msg_type: 'sendcmpct' });
    expect(network.trace.connection(1, 0)).toSendOnlyAfterReceived('dialer', 'sendcmpct', 'verack');
    expect(connection).not.toSend('listener', 'getaddr');
    expect(network.trace).toHaveNoTraceErrors();
  });

  test('nothing from the previous test is left running', () => {
    expect(ourBitcoinds()).toEqual([]);
  });

  test('a failing spec prints and writes the failure bundle: debug.log tails, timeline, tracer diagnostics', async () => {
    const binary = await testBinary();
    const failureDir = await mkdtemp(join(tmpdir(), 'failure-bundle-'));
    try {
      const result = await execa('npx', ['vitest', 'run', '--config', join(here, 'fixtures/failing-spec/vitest.config.ts')], {
        reject: false,
        env: { BITCOIND: binary.path, REGTEST_HARNESS_FAILURE_DIR: failureDir, NO_COLOR: '1' },
        all: true,
      });
      expect(result.exitCode).toBe(1);
      const output = result.all ?? '';
      expect(output).toContain("sends 'verack' first"); // the matcher's claim
      expect(output).toContain('message timeline');
      expect(output).toMatch(/node1 ──version \(\d+ B\)─+▶ node0/);
      expect(output).toContain('node0 debug.log');
      expect(output).toContain('tracer (log)');
      const file = /failure bundle written to (\S+)/.exec(output)?.[1];
      expect(file && existsSync(file)).toBe(true);
      const bundle = readFileSync(file!, 'utf8');
      expect(bundle).toContain('node1 debug.log');
      // Real log lines, not a placeholder: the bundle was made before the datadirs were removed.
      expect(bundle).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z /m);
      expect(bundle).toMatch(/\[net\] (sending|received:) \w+ \(\d+ bytes\) peer=\d+/);
    } finally {
      rmSync(failureDir, { recursive: true, force: true });
    }
  });
});
