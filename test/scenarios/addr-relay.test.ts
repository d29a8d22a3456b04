import { beforeAll, describe, expect, it } from 'vitest';
import { addrRelay } from '../../scenarios/addr-relay.js';
import type { ScenarioResult } from '../../scenarios/runner.js';
import { isMessageEvent } from '../../tracing/events.js';
import { bitcoindSkipReason } from '../helpers/bitcoind.js';
import { failureReport, runWithLogTracer } from '../helpers/scenario.js';

describe.skipIf(bitcoindSkipReason())('scenario addr-relay (1>0, log tracer)', () => {
  let result: ScenarioResult;
  beforeAll(async () => {
    result = await runWithLogTracer(addrRelay);
  });

  it('passes on real bitcoind', () => {
    expect(result.passed, failureReport(result)).toBe(true);
  });

  it('gets a non-empty addrv2 on the second connection, and none on the first (addrman was empty then)', () => {
    const addrv2 = result.events.filter((e) => isMessageEvent(e) && e.node === 1 && e.tracepoint === 'net:inbound_message' && e.args.msg_type === 'addrv2');
    expect(addrv2.length).toBeGreaterThan(0);
    const ids = new Set(addrv2.map((e) => (isMessageEvent(e) ? e.args.peer_id : -1)));
    expect(ids.size).toBe(1);
    expect([...ids][0]).toBeGreaterThan(0); // not node 1's first peer (id 0)
    // An onion v3 entry alone is over 40 bytes: the message carries addresses, not just a count.
    expect(addrv2.every((e) => isMessageEvent(e) && e.args.msg_size > 40)).toBe(true);
  });
});
