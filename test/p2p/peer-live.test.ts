import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Network } from '../../harness/network.js';
import { HarnessError, isHarnessError } from '../../harness/common/errors.js';
import { makeTiming } from '../../harness/common/timing.js';
import { encodePayload } from '../../harness/p2p/codec.js';
import { P2PPeer } from '../../harness/p2p/peer.js';
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

describe.skipIf(bitcoindSkipReason())('test peers do not outlive their network', () => {
  it('closes every peer socket and listener on dispose, also after a wait timed out', async () => {
    const network = await Network.start({ nodes: 1, topology: 'none', bitcoind: await testBinary(), fastRelay: false });
    let inbound, outbound;
    try {
      inbound = (await network.addPeer({ to: 0 })).peer;
      const entry = await network.addListeningPeer({ from: 0, connType: 'manual' });
      outbound = entry.peer;
      // A wait that can never succeed (nobody sends 'block' unasked) fails with the peer's evidence, not a hang.
      const failed = await inbound.waitFor('block', { timing: makeTiming({ timeoutFactor: 0.01 }) }).then(() => undefined, (e: unknown) => e);
      expect(isHarnessError(failed, 'TIMEOUT'), String(failed)).toBe(true);
      expect((failed as HarnessError).evidence).toContain('received version');
      expect(entry.listener).toBeDefined();
    } finally {
      await network.dispose();
    }
    expect(inbound.isClosed).toBe(true);
    expect(outbound.isClosed).toBe(true);
    const listenerAddress = network.testPeers.all[1]!.listener!.address;
    const refused = await P2PPeer.connect(listenerAddress, { timing: makeTiming({ timeoutFactor: 0.1 }) }).then((p) => p.close().then(() => false), () => true);
    expect(refused, `${listenerAddress} still accepts connections`).toBe(true);
  });
});
