/**
 * Test peers (harness/p2p) in the trace. A test peer is not a bitcoind, but it is one end of a
 * connection, so it gets a lane of its own: the trace-node index TEST_PEER_BASE + k for the k-th
 * peer of a network, named `peer<k>`. Numbers keep the NDJSON contract (`node` and `peer_node`
 * are numbers or null) and every per-connection query works unchanged:
 * `trace.connection(peerLane(0), 0)` is peer0's connection to node 0.
 */
export const TEST_PEER_BASE = 1000;

/** The trace-node index of the k-th test peer. */
export function peerLane(k: number): number {
  return TEST_PEER_BASE + k;
}

export function isTestPeerLane(index: number): boolean {
  return index >= TEST_PEER_BASE;
}

/** `node3` for a bitcoind, `peer0` for a test peer. */
export function laneName(index: number): string {
  return isTestPeerLane(index) ? `peer${index - TEST_PEER_BASE}` : `node${index}`;
}
