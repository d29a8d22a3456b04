import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { HarnessError } from '../harness/common/errors.js';
import { Network } from '../harness/network.js';
import { BitcoinNode } from '../harness/node.js';
import { bitcoindSkipReason, testBinary } from './helpers/bitcoind.js';
import { ourBitcoinds } from './helpers/processes.js';

async function startError(options: Parameters<typeof Network.start>[0]): Promise<HarnessError> {
  const error = await Network.start(options).then(
    async (network) => {
      await network.dispose();
      throw new Error('expected the network not to start');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(HarnessError);
  expect(ourBitcoinds()).toEqual([]); // nothing left running
  return error as HarnessError;
}

describe('bad input gets a clear error naming the cause and the fix', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'bad-input-'));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  test('a missing bitcoind', async () => {
    const error = await startError({ nodes: 1, bitcoind: join(scratch, 'no-such-bitcoind') });
    expect(error.code).toBe('BINARY_NOT_FOUND');
    expect(error.message).toContain('no-such-bitcoind');
    expect(error.fix).toMatch(/--bitcoind|BITCOIND|provision/);
  });

  test('a bitcoind that is not executable', async () => {
    const path = join(scratch, 'bitcoind');
    await writeFile(path, '#!/bin/sh\necho hi\n');
    await chmod(path, 0o644);
    const error = await startError({ nodes: 1, bitcoind: path });
    expect(error.code).toBe('BINARY_NOT_EXECUTABLE');
    expect(error.fix).toContain('chmod');
  });

  test('a binary that is not bitcoind', async () => {
    const error = await startError({ nodes: 1, bitcoind: '/bin/echo' });
    expect(error.code).toBe('NOT_BITCOIND');
    expect(error.message).toContain('/bin/echo');
  });

  test('a topology with a self-loop, an unknown node index, zero nodes', async () => {
    const selfLoop = await startError({ nodes: 2, topology: '1>0,1>1' });
    expect(selfLoop.code).toBe('BAD_TOPOLOGY');
    expect(selfLoop.message).toContain('self-loop');
    const unknown = await startError({ nodes: 2, topology: '2>0' });
    expect(unknown.code).toBe('BAD_TOPOLOGY');
    expect(unknown.message).toMatch(/node 2.*0\.\.1/);
    const garbage = await startError({ nodes: 2, topology: 'circle' });
    expect(garbage.code).toBe('BAD_TOPOLOGY');
    expect(garbage.fix).toContain('line');
    const zero = await startError({ nodes: 0 });
    expect(zero.code).toBe('BAD_OPTION');
    expect(zero.fix).toContain('1 or more');
  });

  describe.skipIf(bitcoindSkipReason())('with a real bitcoind', () => {
    let blocker: Server;
    let blockedPort: number;
    beforeAll(async () => {
      blocker = createServer();
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
      blockedPort = (blocker.address() as { port: number }).port;
    });
    afterAll(() => new Promise<void>((resolve) => blocker.close(() => resolve())));

    test('a port already taken', async () => {
      const node = new BitcoinNode({ index: 0, binary: await testBinary(), datadir: join(scratch, 'port-node'), ports: { p2p: blockedPort, rpc: blockedPort + 1 } });
      const error = await node.start().then(
        () => undefined,
        (e: unknown) => e as HarnessError,
      );
      await node.dispose();
      expect(error?.code).toBe('PORT_IN_USE');
      expect(error?.message).toContain(String(blockedPort));
      expect(error?.fix).toContain(String(blockedPort));
      expect(ourBitcoinds()).toEqual([]);
    });

    test('an unwritable datadir root', async () => {
      const file = join(scratch, 'a-file');
      await writeFile(file, '');
      const error = await startError({ nodes: 1, bitcoind: await testBinary(), rootDir: join(file, 'sub') });
      expect(error.code).toBe('DATADIR_UNWRITABLE');
      expect(error.message).toContain(file);
      expect(error.fix).toContain('writable');
    });

    test('incompatible extra arguments: the crash names the cause and carries the log tail', async () => {
      const error = await startError({ nodes: 1, bitcoind: await testBinary(), extraArgs: ['-txindex=1', '-prune=550'] });
      expect(error.code).toBe('NODE_CRASHED');
      expect(error.message).toMatch(/txindex/i);
      expect(error.evidence ?? '').not.toBe('');
    });
  });
});
