import { describe, expect, test } from 'vitest';
import { identifyBinary } from '../harness/binary.js';
import { usdtReadiness } from '../harness/doctor/tracer-decision.js';
import { Network } from '../harness/network.js';
import { handshake, runScenario } from '../scenarios/index.js';
import { UsdtTracer } from '../tracing/bpftrace/usdt-tracer.js';
import type { MessageEvent } from '../tracing/events.js';
import { coreBuildsSkipReason, newestCoreBuild } from './helpers/core-builds.js';

/**
 * End to end on a real USDT-enabled bitcoind: the newest shared Bitcoin Core build
 * (test/helpers/core-builds.ts), else $BITCOIND when that is one. Skips, saying why, only when
 * neither is there or USDT cannot run on this machine.
 */
const newest = newestCoreBuild();
const given = newest?.bitcoind ?? process.env.BITCOIND;
const readiness = given ? await usdtReadiness((await identifyBinary(given, newest ? 'flag' : 'env', newest ? newest.tag : 'BITCOIND')).elfPath).catch((e: Error) => ({ ok: false, reason: e.message })) : undefined;
const skip = !given ? `no USDT-enabled bitcoind: ${coreBuildsSkipReason() || 'none found'}, and BITCOIND is unset` : readiness && !readiness.ok ? `${given} cannot be traced with USDT here: ${readiness.reason}` : false;

describe.skipIf(skip)(skip ? `USDT tracing of a real bitcoind — skipped: ${skip}` : 'USDT tracing of a real bitcoind', () => {
  test('the handshake scenario passes with the usdt tracer, payloads captured, peer_node resolved', async () => {
    const result = await runScenario(handshake, { tracer: 'usdt', bitcoind: given! });
    expect(result.passed, result.failureBundle).toBe(true);
    expect(result.tracer).toBe('usdt');
    const versions = result.events.filter((e): e is MessageEvent => e.tracepoint === 'net:outbound_message' && e.args.msg_type === 'version');
    expect(versions).toHaveLength(2);
    for (const v of versions) {
      expect(v.source).toBe('usdt');
      expect(v.peer_node).toBe(1 - v.node);
      expect(v.args.msg_captured).toBe(v.args.msg_size);
      expect(v.args.msg?.slice(0, 8)).toMatch(/^[0-9a-f]{8}$/);
    }
  });

  test('startup connections are traced from their first message (tracer live before the nodes exist)', async () => {
    await using network = await Network.start({ nodes: 2, topology: '1>0', connectMode: 'startup', bitcoind: given!, tracer: new UsdtTracer() });
    const dialer = network.trace.connection(1, 0).dialer;
    expect(dialer.sent()[0]).toBe('version');
  });
});
