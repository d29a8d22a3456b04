// test/scenarios/docs-peer-example.test.ts
import { describe } from 'vitest';
import { expect, test } from '../../harness/vitest/index.js';
import { INV } from '../../harness/p2p/messages.js';
import { invalidProofOfWorkHeaders } from '../../scenarios/misbehaving.js';
import { bitcoindSkipReason, testBinary } from '../helpers/bitcoind.js';

// The example spec of docs/writing-a-peer-scenario.md (test/docs-peer-scenario.test.ts keeps the two identical).
describe.skipIf(bitcoindSkipReason())('a TypeScript peer talks to node 0', () => {
  test('handshake, a question, then a punishment', async ({ regtest }) => {
    // One node, no noban whitelist (Core never punishes noban peers); the tracer is attached first.
    const net = await regtest.network({ nodes: 1, topology: 'none', fastRelay: false, bitcoind: await testBinary() });

    // The peer dials node 0 and completes the handshake (version, wtxidrelay, sendaddrv2, verack).
    const { peer, lane, name } = await net.addPeer({ to: 0, userAgent: '/docs-example:1/' });
    expect(name).toBe('peer0');

    // Both ends are traced: node 0 by its tracer, the peer by itself, on the lane `peer0`.
    const conn = net.trace.connection(lane, 0);
    await peer.syncWithPing(); // everything sent so far has been processed by node 0…
    await net.trace.waitForMessage({ node: 0, peer_node: lane, direction: 'out', msg_type: 'pong' }); // …and traced
    expect(conn).toSendFirst('dialer', 'version');
    expect(conn).toSendBetween('both', ['wtxidrelay', 'sendaddrv2'], { after: 'version', before: 'verack' });
    expect(conn).not.toSend('listener', 'getaddr');

    // Ask a question and wait for the answer, event-driven: an unknown tx gets a notfound.
    const unknown = '00'.repeat(32);
    const since = peer.mark();
    peer.send({ type: 'getdata', inventory: [{ invType: INV.WTX, hash: unknown }] });
    const notfound = await peer.waitFor('notfound', { since });
    expect(notfound.inventory).toEqual([{ invType: INV.WTX, hash: unknown }]);

    // Misbehave: a header with nBits = 0 cannot have valid proof of work. Node 0 drops the peer.
    const genesis = await net.node(0).rpc.call('getblockhash', 0);
    peer.send({ type: 'unknown', command: 'headers', payload: invalidProofOfWorkHeaders(genesis, Math.floor(Date.now() / 1000)) });
    const close = await peer.waitForClose();
    expect(close.by).toBe('remote');
    await net.trace.waitForMessage({ node: 0, peer_node: lane, direction: 'in', msg_type: 'headers' });
    expect(net.trace).toHaveNoTraceErrors();
  });
});
