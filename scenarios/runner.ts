import { resolveBitcoind, type BitcoindBinary } from '../harness/binary.js';
import { HarnessError } from '../harness/common/errors.js';
import { failureBundle } from '../harness/failure-bundle.js';
import { untilAborted } from '../harness/common/timing.js';
import { Network, type ConnectMode, type NetworkOptions } from '../harness/network.js';
import { parseTopology } from '../harness/topology.js';
import { chooseTracer, type TracerChoice } from '../harness/doctor/choose-tracer.js';
import type { TraceEvent } from '../tracing/events.js';
import type { ReportNode } from '../tracing/report/nodes.js';
import type { Tracer } from '../tracing/tracer.js';
import { assertApplies } from './applicability.js';
import { CrashRecorder } from './crashes.js';
import type { CheckResult, Scenario, ScenarioContext } from './types.js';

export interface RunScenarioOptions {
  nodes?: number;
  topology?: string;
  connectMode?: ConnectMode;
  tracer?: TracerChoice | Tracer;
  bitcoind?: string | BitcoindBinary;
  /** Every traced event as it arrives (the CLI's live timeline). */
  onEvent?: (event: TraceEvent) => void;
  log?: (line: string) => void;
  keep?: boolean;
  /** Where the network's directory goes (default: the system temp dir). */
  rootDir?: string;
  /** Allow trace loss (bpftrace "Lost N events") instead of failing. */
  allowTraceLoss?: boolean;
  /** Ctrl-C: ends every wait at once; the network is disposed and the abort reason thrown. */
  signal?: AbortSignal;
  /** Multiplies every timeout of the run (default: REGTEST_HARNESS_TIMEOUT_FACTOR, else 1). */
  timeoutFactor?: number;
  /** Network options that win over the scenario's own (e.g. forcing v2 transport on a v1 scenario). */
  networkOverrides?: Partial<Pick<NetworkOptions, 'v2transport' | 'fastRelay' | 'extraArgs'>>;
}

export interface ScenarioResult {
  scenario: string;
  binary: BitcoindBinary;
  tracer: string;
  tracerReason: string;
  passed: boolean;
  checks: CheckResult[];
  events: TraceEvent[];
  nodes: ReportNode[];
  /** Set when the run failed: each node's debug.log tail and the tracer's diagnostics. */
  failureBundle?: string;
}

/**
 * The node count and topology this run would use, or a BAD_OPTION/BAD_TOPOLOGY error: cheap,
 * so a front-end calls it before resolving (maybe downloading) a bitcoind.
 */
export function checkScenarioOptions(scenario: Scenario, options: Pick<RunScenarioOptions, 'nodes' | 'topology'>): { nodes: number; topology: string } {
  const nodes = options.nodes ?? scenario.defaults.nodes;
  if (nodes < scenario.minNodes) {
    throw new HarnessError('BAD_OPTION', `scenario '${scenario.name}' needs at least ${scenario.minNodes} nodes, got ${nodes}`, {
      fix: `pass --nodes ${scenario.minNodes} or more`,
    });
  }
  const topology = options.topology ?? scenario.defaults.topology;
  parseTopology(topology, nodes); // bad topology fails before anything starts
  return { nodes, topology };
}

/**
 * Run one scenario end to end: network up with the tracer attached before anyone connects,
 * actions, expectations, teardown. A failed expectation is a result (passed: false), not a throw;
 * environment problems (no binary, bad topology) throw HarnessError, and so does a scenario that
 * does not apply to the binary (NOT_APPLICABLE, before anything starts).
 */
export async function runScenario(scenario: Scenario, options: RunScenarioOptions = {}): Promise<ScenarioResult> {
  const { nodes, topology } = checkScenarioOptions(scenario, options);
  const binary = typeof options.bitcoind === 'object' ? options.bitcoind : await resolveBitcoind(options.bitcoind === undefined ? {} : { bitcoind: options.bitcoind });
  assertApplies(scenario, binary);
  const chosen = typeof options.tracer === 'object' ? { tracer: options.tracer, reason: `tracer: ${options.tracer.source}` } : await chooseTracer(options.tracer ?? 'auto', binary, scenario.tracepoints);
  const log = options.log ?? (() => undefined);
  log(chosen.reason);

  const crashes = new CrashRecorder();
  const network = await Network.start({
    nodes,
    topology,
    connectMode: options.connectMode ?? scenario.defaults.connectMode ?? 'rpc',
    bitcoind: binary,
    tracer: chosen.tracer,
    keep: options.keep ?? false,
    ...(options.rootDir === undefined ? {} : { rootDir: options.rootDir }),
    allowTraceLoss: options.allowTraceLoss ?? false,
    log,
    ...scenario.networkOptions?.(nodes),
    ...options.networkOverrides,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.timeoutFactor === undefined ? {} : { timeoutFactor: options.timeoutFactor }),
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
  });
  crashes.watch(network);
  try {
    const context: ScenarioContext = { network, trace: network.trace, edges: network.edges, log, ...(options.signal ? { signal: options.signal } : {}) };
    let checks: CheckResult[];
    let actError: unknown;
    let state: unknown;
    try {
      // An action blocked in an RPC (waitforblock) must not hold a Ctrl-C: give up on it; the
      // network's disposal below ends it.
      state = await untilAborted(Promise.resolve(scenario.act?.(context)), options.signal);
    } catch (error) {
      actError = error;
    }
    await crashes.settle(actError, options.signal);
    options.signal?.throwIfAborted();
    const crashedDuringActions = crashes.any;
    try {
      checks = await scenario.expectations(context, state);
    } catch (error) {
      await crashes.settle(error, options.signal);
      if (!crashes.any) throw error;
      checks = []; // a node is gone: the crash below is the finding, not the RPC that met it
    }
    if (crashedDuringActions) {
      checks = [...(await crashes.checks("during the scenario's actions", actError)), ...checks];
    } else if (crashes.any) {
      checks = [...(await crashes.checks("while the expectations were checked", undefined)), ...checks];
    } else if (actError !== undefined) {
      const message = actError instanceof Error ? actError.message : String(actError);
      checks = [{ pass: false, claim: `the scenario's actions complete`, finding: message, report: actError instanceof HarnessError ? (actError.evidence ?? '') : '' }, ...checks];
    }
    if (checks.length === 0) {
      // A scenario that asserts nothing cannot fail: that is a broken scenario, not a pass.
      checks.push({ pass: false, claim: `scenario '${scenario.name}' checks something`, finding: 'its expectations returned no checks, so nothing was asserted', report: '' });
    }
    for (const error of network.trace.errors) {
      checks.push({ pass: false, claim: 'the trace is complete (no lost events, tracer alive)', finding: error.message, report: error.evidence ?? '' });
    }
    const passed = checks.every((c) => c.pass);
    return {
      scenario: scenario.name,
      binary,
      tracer: chosen.tracer.source,
      tracerReason: chosen.reason,
      passed,
      checks,
      events: [...network.trace.events],
      nodes: network.nodes.map((n) => ({ index: n.index, name: n.name, version: binary.versionLine.replace(/^.* version /, ''), binary: binary.path })),
      ...(passed ? {} : { failureBundle: await failureBundle(network) }),
    };
  } finally {
    await network.dispose();
  }
}

/** The failing checks as one readable block: claim, finding, then the side-by-side table. */
export function describeFailures(result: ScenarioResult): string {
  return result.checks
    .filter((c) => !c.pass)
    .map((c) => [`✗ ${c.claim}`, `  ${c.finding}`, c.report ? c.report.split('\n').map((l) => `    ${l}`).join('\n') : ''].filter(Boolean).join('\n'))
    .join('\n\n');
}
