import { describe, expect, test } from 'vitest';
import { HarnessError } from '../harness/common/errors.js';
import { Network } from '../harness/network.js';
import { MAX_NODES } from '../harness/node-count.js';
import { runCli } from './helpers/cli.js';

// Issue 10: `--nodes 999999999` ended in a V8 out-of-memory abort (exit 134), and `0x10` started
// 16 nodes. Both are usage errors (exit 2) before anything is resolved or started.
describe('node counts', () => {
  test.each(['999999999', String(MAX_NODES + 1), '0x10', '1e1', '3.0', ' 3', '3 ', '+3', '-1', '0', '', '٣'])('up --nodes %j is a usage error', async (value) => {
    const { code, stderr, stdout } = await runCli('up', `--nodes=${value}`);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain(`--nodes must be an integer from 1 to ${MAX_NODES} in decimal digits, got '${value}'`);
  });

  test('run rejects a hex node count before resolving a binary', async () => {
    const { code, stderr } = await runCli('run', 'handshake', '--nodes', '0x10', '--bitcoind', '/nonexistent/bitcoind');
    expect(code).toBe(2);
    expect(stderr).toContain("--nodes must be an integer from 2 to 64 in decimal digits, got '0x10'");
  });

  test.each([999_999_999, MAX_NODES + 1, 0, 2.5, Number.NaN])('Network.start({ nodes: %s }) throws BAD_OPTION before starting anything', async (nodes) => {
    const error = await Network.start({ nodes, bitcoind: '/nonexistent/bitcoind' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HarnessError);
    expect((error as HarnessError).code).toBe('BAD_OPTION');
    expect((error as HarnessError).message).toContain(`1 to ${MAX_NODES} nodes`);
  });
});
