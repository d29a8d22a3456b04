import { execa } from 'execa';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, test } from 'vitest';
import { bitcoindSkipReason, testBinary } from './helpers/bitcoind.js';
import { buildSkipReason, builtCli } from './helpers/built.js';
import { processesNamed, waitForExit } from './helpers/processes.js';

/**
 * Ctrl-C that lands while a scenario waits — on a trace event, or in an RPC that blocks inside
 * bitcoind (`waitforblock`) — ends `run` with 130 and leaves nothing behind. The time it takes is
 * measured in bench/ (bench/interrupt.ts), not asserted here.
 */
const points: { name: string; when: (event: { args: { msg_type?: string } }) => boolean }[] = [
  { name: 'while funding (blocks being relayed, syncBlocks blocked in waitforblock)', when: (e) => ['headers', 'cmpctblock', 'block'].includes(e.args.msg_type ?? '') },
  { name: 'right after the handshake (settling: waits on traced pongs)', when: (e) => e.args.msg_type === 'verack' },
];

describe.skipIf(bitcoindSkipReason() || buildSkipReason())('SIGINT during `run tx-relay`', () => {
  for (const point of points) {
    test(`${point.name}: exit 130, every node stopped, the network dir removed`, async () => {
      const binary = await testBinary();
      const root = await mkdtemp(join(tmpdir(), 'interrupt-test-'));
      const child = execa(process.execPath, [builtCli(), 'run', 'tx-relay', '--tracer', 'log', '--json', '--datadir-root', root, '--bitcoind', binary.path], { reject: false });
      const lines = createInterface({ input: child.stdout! });
      let interrupted = false;
      let pids: number[] = [];
      for await (const line of lines) {
        if (!interrupted && point.when(JSON.parse(line))) {
          interrupted = true;
          // Its nodes, taken while they surely run: a leaked one would be re-parented later.
          pids = processesNamed('bitcoind').filter((p) => p.ppid === child.pid).map((p) => p.pid);
          child.kill('SIGINT');
        }
      }
      const result = await child;
      expect(pids, 'the run had two nodes when it was interrupted').toHaveLength(2);
      expect(interrupted, 'the run never reached the point of interruption').toBe(true);
      expect(result.exitCode, result.stderr).toBe(130);
      expect(result.stderr).toContain('interrupted');
      expect(await waitForExit(pids, 5_000)).toEqual([]);
      expect(await readdir(root)).toEqual([]); // the network's directory is gone
      await rm(root, { recursive: true, force: true });
    });
  }
});
