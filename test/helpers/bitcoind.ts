import { existsSync } from 'node:fs';
import { resolveBitcoind, type BitcoindBinary } from '../../harness/binary.js';

/**
 * The bitcoind the tests run: $BITCOIND, else what `npm test`'s set-up provisioned (PATH or the
 * per-user cache). Tests never provision themselves; they skip with a one-line reason instead.
 */
let cached: Promise<BitcoindBinary> | undefined;

export function testBinary(): Promise<BitcoindBinary> {
  cached ??= resolveBitcoind({ provision: false });
  return cached;
}

export function bitcoindSkipReason(): string | false {
  const explicit = process.env.BITCOIND;
  if (explicit && !existsSync(explicit)) return `BITCOIND=${explicit} does not exist`;
  return false;
}
