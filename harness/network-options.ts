import type { TraceEvent } from '../tracing/events.js';
import type { Tracer } from '../tracing/tracer.js';
import type { BitcoindBinary } from './binary.js';
import type { Edge } from './topology.js';

/** How a network is described to Network.start (harness/network.ts). */
export type ConnectMode = 'startup' | 'rpc';

export interface NetworkOptions {
  /** Number of nodes (≥ 1). */
  nodes: number;
  /** Edge list "1>0,2>1" (node 1 dials node 0), a shape (line, star, ring, mesh, none), or edges. Default: line. */
  topology?: string | readonly Edge[];
  /** `startup`: -connect= arguments at start; `rpc`: `addnode … onetry` once every node is up. Default rpc. */
  connectMode?: ConnectMode;
  /** A bitcoind path or an identified binary; default: the usual resolution (see resolveBitcoind). */
  bitcoind?: string | BitcoindBinary;
  /** A tracer attached before any node connects; events land in `network.trace`. */
  tracer?: Tracer;
  /** Trace loss (bpftrace "Lost N events") only warns instead of failing. */
  allowTraceLoss?: boolean;
  /** Whitelist loopback peers (noban, both directions): relay without the Poisson trickle delay (default true). */
  fastRelay?: boolean;
  /** BIP324 v2 transport on/off; default: the binary's default. */
  v2transport?: boolean;
  /** Extra bitcoind arguments for every node, or per node. */
  extraArgs?: readonly string[] | ((index: number) => readonly string[]);
  /** Where the network's temp directory goes (default: the system temp dir). */
  rootDir?: string;
  /** Keep the datadirs after dispose (their path is in `network.dir`). */
  keep?: boolean;
  /** Aborting ends start-up and every pending wait at once; the network is then disposed. */
  signal?: AbortSignal;
  /** Multiplies every timeout (default: REGTEST_HARNESS_TIMEOUT_FACTOR, else 1), as Core's --timeout-factor. */
  timeoutFactor?: number;
  /** Every traced event as it arrives (e.g. a live timeline). */
  onEvent?: (event: TraceEvent) => void;
  /** Progress lines (e.g. console.error); silent by default. */
  log?: (line: string) => void;
}
