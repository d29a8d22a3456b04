import { beforeAll, describe, expect, it } from 'vitest';
import { invalidProofOfWorkHeaders, misbehaving } from '../../scenarios/misbehaving.js';
import type { ScenarioResult } from '../../scenarios/runner.js';
import { decodePayload } from '../../tracing/decode/index.js';
import { bitcoindSkipReason } from '../helpers/bitcoind.js';
import { failureReport, runWithLogTracer } from '../helpers/scenario.js';

const REGTEST_GENESIS = '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206';

describe('invalidProofOfWorkHeaders', () => {
  it('is one 80-byte header on the given block with nBits 0, then a zero tx count', () => {
    const payload = invalidProofOfWorkHeaders(REGTEST_GENESIS, 1_700_000_000);
    expect(payload).toHaveLength(1 + 80 + 1);
    expect(decodePayload('headers', payload.toString('hex'), payload.length)).toEqual({ type: 'headers', count: 1 });
    expect(Buffer.from(payload.subarray(5, 37)).reverse().toString('hex')).toBe(REGTEST_GENESIS);
    expect(payload.readUInt32LE(69)).toBe(1_700_000_000);
    expect(payload.readUInt32LE(73)).toBe(0);
    expect(payload.at(-1)).toBe(0);
  });
});

describe.skipIf(bitcoindSkipReason())('scenario misbehaving (1>0, no whitelist, log tracer)', () => {
  let result: ScenarioResult;
  beforeAll(async () => {
    result = await runWithLogTracer(misbehaving);
  });

  it('passes on real bitcoind', () => {
    expect(result.passed, failureReport(result)).toBe(true);
  });

  it('records why node 0 punished the peer, and the close on both nodes', () => {
    const punished = result.events.filter((e) => e.tracepoint === 'net:misbehaving_connection');
    expect(punished).toEqual([expect.objectContaining({ node: 0, args: { peer_id: 0, message: 'header with invalid proof of work' } })]);
    expect(result.events.filter((e) => e.tracepoint === 'net:closed_connection').map((e) => e.node).sort()).toEqual([0, 1]);
  });
});
