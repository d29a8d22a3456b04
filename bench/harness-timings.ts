/**
 * The harness side, timed from outside through its public classes (no API changes):
 * `BitcoinNode.start()` for "RPC-ready", `Network.start()` for "handshakes complete".
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { dir as makeTempDir } from 'tmp-promise';
import type { BitcoindBinary } from '../harness/binary.js';
import { trackForSignals, untrackForSignals } from '../harness/common/signal-cleanup.js';
import { Network } from '../harness/network.js';
import { BitcoinNode } from '../harness/node.js';
import { guardPath, releasePath } from '../harness/common/child-process/reaper.js';
import { LogTracer } from '../tracing/log-tracer.js';
import { msSince } from './stats.js';

/**
 * N `BitcoinNode`s started in parallel, as `Network.start` does. Ports are reserved before the
 * clock starts (the baseline's are too); the timed part is datadir + conf + port check + spawn +
 * the harness's RPC readiness wait.
 */
export async function timeHarnessReady(binary: BitcoindBinary, count: number): Promise<number> {
  const { path: dir } = await makeTempDir({ prefix: 'regtest-bench-nodes-', mode: 0o700 });
  guardPath(dir);
  const nodes = Array.from({ length: count }, (_, index) => new BitcoinNode({ index, binary, datadir: join(dir, `node${index}`), fastRelay: true }));
  const group = {
    dispose: async (): Promise<void> => {
      await Promise.allSettled(nodes.map((node) => node.dispose()));
      await rm(dir, { recursive: true, force: true });
      releasePath(dir);
    },
  };
  trackForSignals(group);
  try {
    await Promise.all(nodes.map((node) => node.reservePorts()));
    const startNs = process.hrtime.bigint();
    await Promise.all(nodes.map((node) => node.start()));
    return msSince(startNs);
  } finally {
    untrackForSignals(group);
    await group.dispose();
  }
}

/**
 * The whole `Network.start` (line topology, `addnode onetry` over RPC) until every handshake is
 * complete: RPC-polled pongs without a tracer, traced `verack`s with the log tracer.
 * Includes what Network.start does before spawning: temp dir and port reservation.
 */
export async function timeNetworkHandshakes(binary: BitcoindBinary, count: number, options: { logTracer: boolean }): Promise<number> {
  const startNs = process.hrtime.bigint();
  const network = await Network.start({
    nodes: count,
    topology: 'line',
    connectMode: 'rpc',
    bitcoind: binary,
    ...(options.logTracer ? { tracer: new LogTracer() } : {}),
  });
  try {
    return msSince(startNs);
  } finally {
    await network.dispose();
  }
}
