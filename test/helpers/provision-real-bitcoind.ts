import { resolveBitcoind, type BitcoindBinary } from '../../harness/binary.js';

/**
 * A real bitcoind found the normal way (BITCOIND, PATH, the per-user cache) without downloading,
 * or undefined so a test can skip with its reason.
 */
export async function findRealBitcoind(): Promise<BitcoindBinary | undefined> {
  try {
    return await resolveBitcoind({ provision: false });
  } catch {
    return undefined;
  }
}
