import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Network } from '../../harness/network.js';
import { encodePayload } from '../../harness/p2p/codec.js';
import type { ListeningConnType } from '../../harness/p2p/network-peers.js';
import { LogTracer } from '../../tracing/log-tracer.js';
import { peerLane } from '../../tracing/peer-lanes.js';
import { bitcoindSkipReason, testBinary } from '../helpers/bitcoind.js';

describe.skipIf(bitcoindSkipReason())('P2PPeer against a real node (test binary, log tracer)', () => {
  let network: Network;
  beforeAll(async () => {
    network = await Network.start({ nodes: 1, topology: 'none', bitcoind: await testBinary(), tracer: new LogTracer(), fastRelay: false });
  });
  afterAll(async () => {
    await network?.dispose();
  });

  it('dials node 0, completes the handshake, and gets pongs to its pings', async () => {
    const { peer, lane, name } = await network.addPeer({ to: 0, userAgent: '/inbound-test:1/' });
    expect(name).toBe('peer0');
    expect(lane).toBe(peerLane(0));
    expect(peer.remoteVersion?.protocolVersion).toBeGreaterThanOrEqual(70016);
    await peer.syncWithPing();
    const info = (await network.node(0).rpc.call('getpeerinfo')).find((p) => p.addr === peer.localAddress);
    expect(info).toMatchObject({ inbound: true, subver: '/inbound-test:1/' });
    // The node's own trace of the connection points at the peer's lane.
    const traced = await network.trace.waitForMessage({ node: 0, peer_node: lane, direction: 'in', msg_type: 'ping' });
    expect(traced.args.peer_id).toBe(info!.id);
  });

  it('re-encodes every message the node sent it, byte for byte', async () => {
    const { peer } = network.testPeers.all[0]!;
    expect(peer.received.length).toBeGreaterThan(5);
    for (const received of peer.received) {
      expect(received.checksumOk).toBe(true);
      expect(received.message.type, received.command).not.toBe('unknown');
      expect(encodePayload(received.message).length).toBe(received.size);
    }
    expect(peer.received.map((r) => r.command)).toEqual(expect.arrayContaining(['version', 'wtxidrelay', 'sendaddrv2', 'verack', 'sendcmpct', 'ping', 'feefilter', 'pong']));
  });

  it.each<ListeningConnType>(['manual', 'outbound-full-relay', 'block-relay-only'])('is dialled by node 0 as %s and completes the handshake', async (connType) => {
    const { peer } = await network.addListeningPeer({ from: 0, connType });
    expect(peer.role).toBe('listener');
    await peer.syncWithPing();
    const info = (await network.node(0).rpc.call('getpeerinfo')).find((p) => p.addr === peer.localAddress); // the listener's address, which the node dialled
    expect(info).toMatchObject({ inbound: false, connection_type: connType });
  });
});
