import { afterEach, describe, expect, test } from 'vitest';
import { Network } from '../harness/network.js';
import { LogTracer } from '../tracing/log-tracer.js';
import { existsSync } from 'node:fs';
import { bitcoindSkipReason, testBinary } from './helpers/bitcoind.js';
import { isAlive } from './helpers/processes.js';

const skip = bitcoindSkipReason();

describe.skipIf(skip)('a real regtest network', () => {
  let network: Network | undefined;
  afterEach(async () => {
    await network?.dispose();
    network = undefined;
  });

  test('3 nodes in a line with startup connects: every edge completes its handshake', async () => {
    network = await Network.start({ nodes: 3, topology: 'line', connectMode: 'startup', bitcoind: await testBinary() });
    const peers = await Promise.all(network.nodes.map((n) => n.rpc.call('getpeerinfo')));
    expect(peers.map((p) => p.length)).toEqual([1, 2, 1]);
    expect(peers[1]!.filter((p) => p.inbound).length).toBe(1);
    expect(peers[1]!.find((p) => !p.inbound)?.addr).toBe(network.node(0).p2pAddress);
    for (const list of peers) for (const peer of list) expect(peer.bytesrecv_per_msg.verack).toBeGreaterThan(0);
  });

  test('4 nodes in a ring with rpc connects; blocks mined on one node reach all', async () => {
    network = await Network.start({ nodes: 4, topology: 'ring', connectMode: 'rpc', bitcoind: await testBinary() });
    for (const node of network.nodes) expect(await node.rpc.call('getconnectioncount')).toBe(2);
    const [hash] = await network.mine(2, 1);
    for (const node of network.nodes) expect(await node.rpc.call('getbestblockhash')).toBe(hash);
  });

  test('a transaction sent on node 0 reaches node 2 in a line, well under the trickle delay', async () => {
    network = await Network.start({ nodes: 3, topology: 'line', bitcoind: await testBinary() });
    // Fast relay is the noban whitelist in both directions: Core skips the Poisson trickle for such peers.
    for (const node of network.nodes) {
      for (const peer of await node.rpc.call('getpeerinfo')) expect((peer as { permissions?: string[] }).permissions).toContain('noban');
    }
    await network.fund(0, 2);
    const txid = await network.sendTransaction(0, 2, 1);
    // Two hops of the trickle would take ~5 s (inbound) + ~2 s (outbound) on average; the bound is the claim, not a benchmark.
    await network.waitForMempool(txid, [2], 4_000);
    expect(await network.node(2).rpc.call('getrawmempool')).toContain(txid);
  });

  test('a restarted node keeps its chain and reconnects', async () => {
    network = await Network.start({ nodes: 2, topology: '1>0', bitcoind: await testBinary() });
    const hashes = await network.mine(0, 5);
    const pidBefore = network.node(1).pid;
    await network.restartNode(1);
    expect(network.node(1).pid).not.toBe(pidBefore);
    expect(await network.node(1).rpc.call('getblockcount')).toBe(5);
    expect(await network.node(1).rpc.call('getbestblockhash')).toBe(hashes.at(-1));
    expect(await network.node(1).rpc.call('getconnectioncount')).toBe(1);
  });

  test('disconnect and reconnect one edge', async () => {
    network = await Network.start({ nodes: 3, topology: 'line', bitcoind: await testBinary() });
    await network.disconnect({ from: 2, to: 1 });
    expect(await network.node(2).rpc.call('getconnectioncount')).toBe(0);
    expect(await network.node(0).rpc.call('getconnectioncount')).toBe(1);
    await network.reconnect({ from: 2, to: 1 });
    expect(await network.node(2).rpc.call('getconnectioncount')).toBe(1);
    await network.mine(0, 1);
  });

  test('`await using` disposes the network at the end of the block: nodes stopped, datadirs gone', async () => {
    let pids: number[];
    let dir: string;
    {
      await using scoped = await Network.start({ nodes: 2, topology: '1>0', bitcoind: await testBinary() });
      pids = scoped.nodes.map((n) => n.pid!);
      dir = scoped.dir;
      expect(pids.every(isAlive)).toBe(true);
    }
    expect(pids.filter(isAlive)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  });

  test('with a tracer, a restarted node\'s new connection is a new connection (peer ids restart at 0)', async () => {
    network = await Network.start({ nodes: 2, topology: '1>0', bitcoind: await testBinary(), tracer: new LogTracer() });
    await network.restartNode(1);
    const first = network.trace.connection(1, 0, { occurrence: 1 });
    const second = network.trace.connection(1, 0, { occurrence: 2 });
    expect(first.dialer.sent().filter((m) => m === 'version')).toHaveLength(1);
    expect(second.dialer.sent()[0]).toBe('version');
    expect(second.dialer.received()).toContain('verack');
    expect(second.listener.received()).toContain('verack');
    expect(second.dialer.peerId).toBe(first.dialer.peerId); // the same id, told apart by the restart
  });
});
