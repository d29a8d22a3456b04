/**
 * One whole bare cycle as its own process, for bench/whole-process.ts: `node dist/bench/bare-cycle.js
 * BITCOIND NODES` spawns NODES bitcoinds (no harness), connects them in a line with `addnode`,
 * waits until every handshake is complete both ways, stops them and exits.
 */
import { timeBareNodes } from './bare-bitcoind.js';

const [binary, nodes] = process.argv.slice(2);
if (!binary) {
  process.stderr.write('usage: node dist/bench/bare-cycle.js BITCOIND [NODES]\n');
  process.exit(2);
}
await timeBareNodes(binary, Number(nodes ?? 2), { handshakes: true });
