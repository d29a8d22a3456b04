import { beforeAll, describe, expect, it } from 'vitest';
import { peerHandshake } from '../../scenarios/peer-handshake.js';
import type { ScenarioResult } from '../../scenarios/runner.js';
import { peerLane } from '../../tracing/peer-lanes.js';
import { bitcoindSkipReason } from '../helpers/bitcoind.js';
import { newestCoreBuild } from '../helpers/core-builds.js';
import { runWithUsdt, usdtSkipReason } from '../helpers/peer-scenarios.js';
import { failureReport, runWithLogTracer } from '../helpers/scenario.js';

const newest = newestCoreBuild();
const usdtSkip = await usdtSkipReason(newest);

function sharedExpectations(result: () => ScenarioResult): void {
  it('passes', () => {
    expect(result().passed, failureReport(result())).toBe(true);
  });

  it('maps the node\'s events about each peer to its lane, and traces the peers\' own traffic', () => {
    const events = result().events;
    for (const lane of [peerLane(0), peerLane(1)]) {
      expect(events.some((e) => e.node === 0 && e.peer_node === lane && e.tracepoint === 'net:inbound_message')).toBe(true);
      expect(events.some((e) => e.node === lane && e.source === 'peer' && e.peer_node === 0)).toBe(true);
    }
  });
}

describe.skipIf(bitcoindSkipReason())('scenario peer-handshake (test binary, log tracer)', () => {
  let result: ScenarioResult;
  beforeAll(async () => {
    result = await runWithLogTracer(peerHandshake);
  });
  sharedExpectations(() => result);
});

describe.skipIf(usdtSkip)(`scenario peer-handshake (${newest?.tag ?? 'no Core build'}, usdt tracer)${usdtSkip ? ` — skipped: ${usdtSkip}` : ''}`, () => {
  let result: ScenarioResult;
  beforeAll(async () => {
    result = await runWithUsdt(peerHandshake, newest!);
  });
  sharedExpectations(() => result);
});
