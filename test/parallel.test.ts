import { execa } from 'execa';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { bitcoindSkipReason, testBinary } from './helpers/bitcoind.js';

const here = dirname(fileURLToPath(import.meta.url));

interface WorkerRecord {
  pid: number;
  startedAt: number;
  upAt: number;
  nodes: { p2p: number; rpc: number; retries: number }[];
}

describe.skipIf(bitcoindSkipReason())('parallel vitest workers', () => {
  test('three workers each start two 3-node networks at the same time: no port is shared, none had to be retried', async () => {
    const out = await mkdtemp(join(tmpdir(), 'parallel-'));
    try {
      const binary = await testBinary();
      const result = await execa('npx', ['vitest', 'run', '--config', join(here, 'fixtures/parallel/vitest.config.ts')], {
        reject: false,
        env: { BITCOIND: binary.path, PARALLEL_OUT: out },
        all: true,
      });
      expect(result.exitCode, result.all).toBe(0);
      const records: WorkerRecord[] = await Promise.all((await readdir(out)).map(async (f) => JSON.parse(await readFile(join(out, f), 'utf8'))));
      expect(new Set(records.map((r) => r.pid)).size).toBe(3); // three separate worker processes
      // They really overlapped: every worker started before any finished bringing its networks up.
      expect(Math.max(...records.map((r) => r.startedAt))).toBeLessThan(Math.min(...records.map((r) => r.upAt)));
      const ports = records.flatMap((r) => r.nodes.flatMap((n) => [n.p2p, n.rpc]));
      expect(ports).toHaveLength(3 * 2 * 3 * 2);
      expect(new Set(ports).size).toBe(ports.length);
      expect(records.flatMap((r) => r.nodes.map((n) => n.retries))).toEqual(Array(18).fill(0));
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
