import { expect, it } from 'vitest';
import { identifyBinary } from '../../harness/binary.js';
import { usdtReadiness } from '../../harness/doctor/tracer-decision.js';
import { runScenario, type RunScenarioOptions, type ScenarioResult } from '../../scenarios/runner.js';
import type { Scenario } from '../../scenarios/types.js';
import { isTestPeerLane, laneName } from '../../tracing/peer-lanes.js';
import { renderReport } from '../../tracing/report/html.js';
import { formatTimeline } from '../../tracing/report/timeline.js';
import type { CoreBuild } from './core-builds.js';
import { failureReport } from './scenario.js';

/** Why the usdt tracer cannot run on this build here, or false. */
export async function usdtSkipReason(build: CoreBuild | undefined): Promise<string | false> {
  if (!build) return 'no Bitcoin Core build with USDT (see test/helpers/core-builds.ts)';
  if (build.unusable) return build.unusable;
  const readiness = await usdtReadiness((await identifyBinary(build.bitcoind, 'env', 'BITCOIND')).elfPath).catch((e: Error) => ({ ok: false, reason: e.message }));
  return readiness.ok ? false : `USDT cannot run here: ${readiness.reason}`;
}

/** A scenario on a Core build with the usdt tracer. */
export function runWithUsdt(scenario: Scenario, build: CoreBuild, options: RunScenarioOptions = {}): Promise<ScenarioResult> {
  return runScenario(scenario, { tracer: 'usdt', bitcoind: build.bitcoind, ...options });
}

/** What every peer scenario run must show, whatever the tracer. */
export function peerScenarioExpectations(result: () => ScenarioResult): void {
  it('passes', () => {
    expect(result().passed, failureReport(result())).toBe(true);
  });

  it("maps the node's events about test peers to their lanes, and traces the peers' own traffic", () => {
    const events = result().events;
    const lanesSeenByNodes = new Set(events.filter((e) => !isTestPeerLane(e.node) && e.peer_node !== null && isTestPeerLane(e.peer_node)).map((e) => e.peer_node));
    const lanesTracingThemselves = new Set(events.filter((e) => e.source === 'peer').map((e) => e.node));
    expect(lanesSeenByNodes.size).toBeGreaterThan(0);
    expect([...lanesTracingThemselves].sort()).toEqual([...lanesSeenByNodes].sort());
  });

  it('draws each peer as its own lane in the live timeline and the HTML report', () => {
    const { events, nodes, scenario } = result();
    const lanes = [...new Set(events.filter((e) => e.source === 'peer').map((e) => laneName(e.node)))];
    const timeline = formatTimeline(events, { nodes, color: false });
    const html = renderReport({ title: scenario, events, nodes });
    for (const lane of lanes) {
      expect(timeline).toMatch(new RegExp(`^\\s*\\+[\\d.]+ ms\\s+${lane} `, 'm'));
      expect(html).toContain(`>${lane}</text>`);
    }
  });
}
