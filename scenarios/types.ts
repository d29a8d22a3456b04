import type { BitcoindBinary } from '../harness/binary.js';
import type { Edge } from '../harness/topology.js';
import type { Network, NetworkOptions, ConnectMode } from '../harness/network.js';
import type { CheckResult } from '../tracing/checks/sequence-checks.js';
import type { Trace } from '../tracing/trace.js';
import type { TracepointName } from '../tracing/events.js';

export type { CheckResult };

/** What a scenario's actions and expectations see. */
export interface ScenarioContext {
  network: Network;
  trace: Trace;
  /** The edges of this run's topology (node `from` dialled node `to`). */
  edges: readonly Edge[];
  /** Progress lines for humans (stderr in the CLI, silent in specs unless asked). */
  log: (line: string) => void;
  /** Aborted on Ctrl-C. The network's waits and the trace's already honour it; pass it to waits of your own. */
  signal?: AbortSignal;
}

/**
 * A P2P scenario: a topology, actions, and expectations on the traced messages.
 * Usable from a vitest spec (`runScenario`) and from the CLI (`regtest-harness run <name>`).
 */
export interface Scenario<State = unknown> {
  name: string;
  /** One line for `regtest-harness scenarios`. */
  summary: string;
  /** The smallest network the scenario makes sense on. */
  minNodes: number;
  defaults: { nodes: number; topology: string; connectMode?: ConnectMode };
  /**
   * Whether the scenario can mean anything on this binary: `true`, or one line saying why not
   * ("BIP324 v2 transport exists since Bitcoin Core v26.0"). Asked before anything starts; a
   * scenario that only lacks a way to observe something on a version adapts instead (see
   * scenarios/applicability.ts). Absent: applies everywhere.
   */
  appliesTo?: (binary: BitcoindBinary) => true | string;
  /**
   * Tracepoints the expectations read beyond the USDT tracer's default (the message and connection
   * ones, DEFAULT_USDT_TRACEPOINTS): traced where the binary has them. Each one is a uprobe to attach and detach.
   */
  tracepoints?: readonly TracepointName[];
  /** Extra network options the scenario needs (v2 transport, no whitelist, extra args). */
  networkOptions?: (nodes: number) => Partial<NetworkOptions>;
  /** Actions once every handshake is complete; what they learnt (block hashes, peer ids, times) is returned for the expectations. */
  act?(context: ScenarioContext): Promise<State>;
  /** The expectations, checked after `act` with what it returned (undefined when it failed: the runner reports why). */
  expectations(context: ScenarioContext, state: State | undefined): Promise<CheckResult[]> | CheckResult[];
}

/** A check built from a plain condition (for RPC state rather than message order). */
export function stateCheck(pass: boolean, claim: string, finding: string, report = ''): CheckResult {
  return { pass, claim, finding, report };
}
