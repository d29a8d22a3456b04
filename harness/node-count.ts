import { HarnessError } from './common/errors.js';

/**
 * The most nodes one network may have. Each node is a full bitcoind process: on this project's
 * machines (2 cores, 24 GiB, shared with other runs) a regtest node takes tens of MB and several
 * threads, starting 64 of them already takes the cores for a while, and a mesh of 64 is 2016
 * connections (each node then uses 63 of bitcoind's default 125 connection slots). Beyond that a
 * run is a load test of the machine, not of the P2P layer; before this bound, 999999999 nodes
 * ended in a V8 out-of-memory abort instead of an error.
 */
export const MAX_NODES = 64;

/** A node count the harness can run: an integer in 1..MAX_NODES, else a BAD_OPTION naming the range. */
export function checkNodeCount(count: number): number {
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_NODES) {
    throw new HarnessError('BAD_OPTION', `a network has 1 to ${MAX_NODES} nodes, got ${String(count)}`, {
      fix: `pass nodes: 1 or more, at most ${MAX_NODES} (--nodes N)`,
    });
  }
  return count;
}
