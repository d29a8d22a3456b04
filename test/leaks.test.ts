import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, test } from 'vitest';
import { bitcoindSkipReason, testBinary } from './helpers/bitcoind.js';
import { builtCli, builtLibrary, buildSkipReason } from './helpers/built.js';
import { processesNamed, waitForExit } from './helpers/processes.js';

/** The first stdout line of a child that prints one JSON line once its network is up. */
async function firstJsonLine(child: ReturnType<typeof execa>): Promise<{ dir: string; nodes: { pid: number }[] }> {
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    if (line.startsWith('{')) return JSON.parse(line);
  }
  throw new Error(`child exited before printing its network: ${(await child).stderr}`);
}

describe.skipIf(bitcoindSkipReason() || buildSkipReason())('nothing leaks', () => {
  test('a SIGKILLed owner leaves no bitcoind alive a few seconds later, and no datadir', async () => {
    const binary = await testBinary();
    const script = `
      const { Network } = await import(${JSON.stringify(builtLibrary())});
      const network = await Network.start({ nodes: 2, bitcoind: ${JSON.stringify(binary.path)} });
      console.log(JSON.stringify({ dir: network.dir, nodes: network.nodes.map((n) => ({ pid: n.pid })) }));
      setInterval(() => {}, 1000);`;
    const child = execa(process.execPath, ['--input-type=module', '-e', script], { reject: false });
    const network = await firstJsonLine(child);
    const pids = network.nodes.map((n) => n.pid);
    expect(pids.every((pid) => pid > 0)).toBe(true);

    child.kill('SIGKILL');
    await child;
    const survivors = await waitForExit(pids, 10_000);
    expect(survivors).toEqual([]);
    // The watchdog removes the directory right after the nodes are gone.
    const deadline = Date.now() + 5_000;
    while (existsSync(network.dir) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(network.dir)).toBe(false);
  });

  test('SIGINT to `regtest-harness up` stops every node and removes the datadirs', async () => {
    const binary = await testBinary();
    const child = execa(process.execPath, [builtCli(), 'up', '--nodes', '3', '--topology', 'star', '--json', '--bitcoind', binary.path], { reject: false });
    const network = await firstJsonLine(child);
    const pids = network.nodes.map((n) => n.pid);
    expect(pids).toHaveLength(3);
    expect(existsSync(join(network.dir, 'node0', 'bitcoin.conf'))).toBe(true);

    child.kill('SIGINT');
    const result = await child;
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toContain('datadirs removed');
    expect(await waitForExit(pids, 1_000)).toEqual([]); // gone before the CLI exited
    expect(existsSync(network.dir)).toBe(false);
  });

  test('`up --keep` keeps the datadirs and says where', async () => {
    const binary = await testBinary();
    const child = execa(process.execPath, [builtCli(), 'up', '--nodes', '1', '--json', '--keep', '--bitcoind', binary.path], { reject: false });
    const network = await firstJsonLine(child);
    child.kill('SIGTERM');
    const result = await child;
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toContain(network.dir);
    expect(existsSync(join(network.dir, 'node0', 'regtest', 'debug.log'))).toBe(true);
    await import('node:fs/promises').then((fs) => fs.rm(network.dir, { recursive: true, force: true }));
  });

  test('SIGINT during `regtest-harness run` stops what it started and exits 130', async () => {
    const binary = await testBinary();
    const child = execa(process.execPath, [builtCli(), 'run', 'handshake', '--tracer', 'log', '--bitcoind', binary.path], { reject: false });
    // Interrupt as soon as its nodes exist: mid start-up.
    let pids: number[] = [];
    const deadline = Date.now() + 20_000;
    while (pids.length < 2 && Date.now() < deadline) {
      pids = processesNamed('bitcoind').filter((p) => p.ppid === child.pid).map((p) => p.pid);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(pids).toHaveLength(2);
    child.kill('SIGINT');
    const result = await child;
    expect(result.exitCode).toBe(130);
    expect(result.stderr).toContain('interrupted');
    expect(await waitForExit(pids, 1_000)).toEqual([]);
  });
});
