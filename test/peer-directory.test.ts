import { describe, expect, test } from 'vitest';
import { Network } from '../harness/network.js';
import { PeerDirectory } from '../harness/peer-directory.js';
import { testBinary } from './helpers/bitcoind.js';

/** The one getpeerinfo cache of the harness (harness/peer-directory.ts), on two real nodes. */
describe('PeerDirectory', () => {
  test('resolves both ends of a connection to harness nodes, asking each process once per peer', async () => {
    await using network = await Network.start({ nodes: 2, topology: '1>0', bitcoind: await testBinary() });
    const directory = new PeerDirectory(() => network.nodes);
    const calls = new Map<number, number>();
    for (const node of network.nodes) {
      const rpc = node.rpc;
      const call = rpc.call.bind(rpc);
      rpc.call = ((method: string, ...params: unknown[]) => {
        if (method === 'getpeerinfo') calls.set(node.index, (calls.get(node.index) ?? 0) + 1);
        return (call as (m: string, ...p: unknown[]) => Promise<unknown>)(method, ...params);
      }) as typeof rpc.call;
    }
    const [listener, dialer] = [directory.target(network.node(0)), directory.target(network.node(1))];
    const inboundId = (await network.node(0).rpc.call('getpeerinfo'))[0]!.id;
    const outboundId = (await network.node(1).rpc.call('getpeerinfo'))[0]!.id;
    calls.clear();

    // Concurrent and repeated lookups of one peer share one answer.
    const [a, b, c] = await Promise.all([listener.resolvePeer(inboundId), listener.resolvePeer(inboundId), listener.resolvePeer(inboundId)]);
    expect(a).toBe(b);
    expect(b).toBe(c);
    expect(a).toMatchObject({ peerNode: 1, info: { id: inboundId, inbound: true } });
    expect(await dialer.resolvePeer(outboundId)).toMatchObject({ peerNode: 0, info: { inbound: false, addr: network.node(0).p2pAddress } });
    const asked = Object.fromEntries(calls);
    // node 0 listed once (its inbound peer); node 1 once (is it the dialer? its listing then also answers its own lookup).
    expect(asked).toEqual({ 0: 1, 1: 1 });
    await listener.resolvePeer(inboundId);
    await dialer.resolvePeer(outboundId);
    expect(Object.fromEntries(calls)).toEqual(asked);

    // A peer unknown to the node: what the caller knew, with no harness node behind it.
    const known = { id: 99, addr: '127.0.0.1:1', connection_type: 'inbound', inbound: true };
    expect(await listener.resolvePeer(99, known)).toEqual({ info: known, peerNode: null });
    expect(await dialer.resolvePeer(98)).toBeUndefined();
  });
});
