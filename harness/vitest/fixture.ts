import { test as base, expect } from 'vitest';
import { resolveBitcoind, type BitcoindBinary } from '../binary.js';
import { Network, type NetworkOptions } from '../network.js';
import { defaultPool } from '../../tracing/bpftrace/usdt-tracer.js';
import { chooseTracer, type TracerChoice } from '../doctor/choose-tracer.js';
import type { Tracer } from '../../tracing/tracer.js';
import { runScenario, type RunScenarioOptions, type ScenarioResult } from '../../scenarios/runner.js';
import type { Scenario } from '../../scenarios/types.js';
import { failureBundle, writeFailureBundle } from './failure-bundle.js';
import { installTraceMatchers } from './matchers.js';

export interface RegtestNetworkOptions extends Omit<NetworkOptions, 'tracer' | 'bitcoind'> {
  /** 'auto' (default), 'usdt', 'log', 'none', or a Tracer instance. */
  tracer?: TracerChoice | 'none' | Tracer;
  bitcoind?: string | BitcoindBinary;
}

/** The `regtest` fixture: networks and scenarios that are disposed after the test, with a failure bundle when it fails. */
export interface RegtestFixture {
  /** Start a network (tracer attached before any connection); disposed after the test. */
  network(options: RegtestNetworkOptions): Promise<Network>;
  /** Run a scenario; its result is kept for the failure bundle. */
  scenario(scenario: Scenario, options?: RunScenarioOptions): Promise<ScenarioResult>;
}

installTraceMatchers();
// One bpftrace per bitcoind binary serves every network: attaching costs 0.5–2 s on a real binary.
// With the globalSetup (global-setup.ts) the run's tracer daemon keeps it for every worker and this
// pool stays unused; without it, this worker keeps its own, ended by the reaper with the worker.
defaultPool.setKeepAlive(60_000);

async function tracerFor(choice: RegtestNetworkOptions['tracer'], binary: BitcoindBinary): Promise<Tracer | undefined> {
  if (choice === 'none') return undefined;
  if (typeof choice === 'object') return choice;
  return (await chooseTracer(choice ?? 'auto', binary)).tracer;
}

/**
 * `test` with a `regtest` fixture. Everything it starts is disposed when the test ends, pass or
 * fail; when the test fails, each network's debug.log tails, message timeline and tracer
 * diagnostics are printed and written to a file (see failureDir()).
 *
 *   test('handshake', async ({ regtest }) => {
 *     const net = await regtest.network({ nodes: 2, topology: '1>0' });
 *     expect(net.trace.connection(1, 0)).toSendFirst('dialer', 'version');
 *   });
 */
export const test = base.extend<{ regtest: RegtestFixture }>({
  regtest: async ({ task }, use) => {
    const networks: Network[] = [];
    const scenarioResults: ScenarioResult[] = [];
    await use({
      network: async (options) => {
        const binary = typeof options.bitcoind === 'object' ? options.bitcoind : await resolveBitcoind(options.bitcoind === undefined ? {} : { bitcoind: options.bitcoind });
        const tracer = await tracerFor(options.tracer, binary);
        const network = await Network.start({ ...options, bitcoind: binary, ...(tracer ? { tracer } : { tracer: undefined }) });
        networks.push(network);
        return network;
      },
      scenario: async (scenario, options) => {
        const result = await runScenario(scenario, options);
        scenarioResults.push(result);
        return result;
      },
    });
    // Fixture teardown runs before onTestFailed hooks, so the bundle is made here, while the
    // datadirs (and their debug.logs) still exist.
    if (task.result?.state === 'fail') await reportFailure(`${task.file?.name ?? 'spec'}-${task.name}`, networks, scenarioResults);
    await Promise.allSettled(networks.map((n) => n.dispose()));
  },
});

async function reportFailure(testName: string, networks: readonly Network[], scenarioResults: readonly ScenarioResult[]): Promise<void> {
  const parts = await Promise.all(networks.map((n) => failureBundle(n)));
  for (const r of scenarioResults) if (r.failureBundle) parts.push(`══ scenario ${r.scenario} ══\n${r.failureBundle}`);
  if (parts.length === 0) return;
  const text = parts.join('\n\n');
  const file = await writeFailureBundle(testName, text);
  process.stderr.write(`\n${text}\n\nfailure bundle written to ${file}\n`);
}

export { expect };
