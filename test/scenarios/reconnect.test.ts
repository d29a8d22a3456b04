import { beforeAll, describe, expect, it } from 'vitest';
import { reconnect } from '../../scenarios/reconnect.js';
import type { ScenarioResult } from '../../scenarios/runner.js';
import { bitcoindSkipReason } from '../helpers/bitcoind.js';
import { failureReport, runWithLogTracer } from '../helpers/scenario.js';

describe.skipIf(bitcoindSkipReason())('scenario reconnect (1>0, log tracer)', () => {
  let result: ScenarioResult;
  beforeAll(async () => {
    result = await runWithLogTracer(reconnect);
  });

  it('passes on real bitcoind', () => {
    expect(result.passed, failureReport(result)).toBe(true);
  });

  it('traces the close of the first connection on both nodes, and two versions from the dialer', () => {
    const closed = result.events.filter((e) => e.tracepoint === 'net:closed_connection');
    expect(closed.map((e) => e.node).sort()).toEqual([0, 1]);
    expect(closed.every((e) => e.tracepoint === 'net:closed_connection' && e.args.peer_id === 0)).toBe(true);
    const versions = result.events.filter((e) => e.tracepoint === 'net:outbound_message' && e.node === 1 && e.args.msg_type === 'version');
    expect(versions.map((e) => (e.tracepoint === 'net:outbound_message' ? e.args.peer_id : -1))).toEqual([0, 1]);
  });
});
