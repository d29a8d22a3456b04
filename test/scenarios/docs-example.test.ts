// test/scenarios/compact-blocks.test.ts
import { describe } from 'vitest';
import { expect, test } from '../../harness/vitest/index.js';
import { bitcoindSkipReason, testBinary } from '../helpers/bitcoind.js';

// The example spec of docs/writing-a-scenario.md, kept running so the docs can't rot.
describe.skipIf(bitcoindSkipReason())('compact block relay', () => {
  test('a mined block reaches the peer, announced the way Core does it', async ({ regtest }) => {
    // Two nodes, node 1 dials node 0. The tracer (auto: USDT when it can, else debug.log)
    // is attached before they connect; start() returns once both handshakes are complete.
    const net = await regtest.network({ nodes: 2, topology: '1>0', bitcoind: await testBinary() });
    const conn = net.trace.connection(1, 0);

    // The handshake, as Core's net_processing writes it.
    expect(conn).toSendFirst('dialer', 'version');
    expect(conn).toSendBetween('both', ['wtxidrelay', 'sendaddrv2'], { after: 'version', before: 'verack' });
    expect(conn).not.toSend('listener', 'getaddr');

    // Act: mine on node 0; mine() returns once node 1 has the block (waitforblock, no polling).
    const [hash] = await net.mine(0, 1);
    expect(await net.node(1).rpc.call('getbestblockhash')).toBe(hash);

    // Wait on the event itself, not on a timer.
    await net.trace.waitForMessage({ node: 1, peer_node: 0, direction: 'in', msg_type: 'block' });
    expect(conn).toSendInOrder('listener', ['inv']);          // node 0 announced it…
    expect(conn).toSendInOrder('dialer', ['getheaders', 'getdata']); // …node 1 asked for it
    expect(net.trace).toHaveNoTraceErrors();
  });
});
