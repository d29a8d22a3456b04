/**
 * The matchers on the USDT path end to end: the real Core v29 handshake (the fixture) replayed
 * through two USDT emitter processes playing node 0 and node 1, traced by the real bpftrace
 * tracer into a Trace, then asserted with the same matchers the log-tracer specs use.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { installTraceMatchers } from '../harness/vitest/matchers.js';
import { SessionPool } from '../tracing/bpftrace/pool.js';
import { UsdtTracer } from '../tracing/bpftrace/usdt-tracer.js';
import { decodePayload } from '../tracing/decode/index.js';
import type { MessageEvent } from '../tracing/events.js';
import type { TraceTarget } from '../tracing/tracer.js';
import { Trace } from '../tracing/trace.js';
import { buildEmitter, Emitter, emitterSkipReason, ourBpftracePids } from './helpers/emitter.js';
import { loadFixtureTrace } from './helpers/fixture-trace.js';

installTraceMatchers();
const skip = emitterSkipReason();

/** The fixture up to the end of the handshake: both nodes have processed the other's `headers` reply. */
function handshakePart(events: readonly MessageEvent[]): MessageEvent[] {
  const received = new Set<number>();
  const out: MessageEvent[] = [];
  for (const event of events) {
    out.push(event);
    if (event.tracepoint === 'net:inbound_message' && event.args.msg_type === 'headers') received.add(event.node);
    if (received.size === 2) break;
  }
  return out;
}

describe.skipIf(skip)(skip ? `matchers on USDT events — skipped: ${skip}` : 'matchers on USDT events from the emitter', () => {
  const trace = new Trace();
  const pool = new SessionPool();
  let tracer: UsdtTracer;
  let emitters: Emitter[] = [];
  let replayed: MessageEvent[];

  beforeAll(async () => {
    const elfPath = await buildEmitter('matchers-usdt');
    emitters = [await Emitter.start(elfPath), await Emitter.start(elfPath)];
    replayed = handshakePart(loadFixtureTrace());
    const targets: TraceTarget[] = emitters.map((emitter, index) => ({
      index,
      pid: emitter.pid,
      debugLogPath: '/dev/null',
      elfPath,
      resolvePeer: async (peerId) => {
        const seen = replayed.find((e) => e.node === index && e.args.peer_id === peerId);
        return seen && { info: { id: peerId, addr: seen.args.peer_addr, connection_type: seen.args.peer_conn_type, inbound: seen.args.peer_conn_type === 'inbound' }, peerNode: 1 - index };
      },
    }));
    tracer = new UsdtTracer({ pool });
    await tracer.attach(targets, trace, process.hrtime.bigint());
    for (const event of replayed) {
      const { peer_id, peer_addr, peer_conn_type, msg_type, msg_size, msg } = event.args;
      const fired = await emitters[event.node]!.fire(event.tracepoint, { peer_id, peer_addr, peer_conn_type, msg_type, msg_size, msg: msg ?? '' });
      expect(fired).toBe(true);
    }
    await trace.waitFor(() => trace.events.length === replayed.length, { description: `all ${replayed.length} replayed events`, timeoutMs: 15_000 });
  });

  afterAll(async () => {
    await tracer?.detach();
    await pool.shutdown();
    await pool.waitForExit(); // the kernel's uprobe detach, which shutdown itself no longer waits for
    await Promise.all(emitters.map((e) => e.stop()));
    expect(ourBpftracePids()).toEqual([]);
  });

  test('every event arrives as a usdt event with the fixture\'s arguments and payload', () => {
    expect(trace.events).toHaveLength(replayed.length);
    for (const node of [0, 1]) {
      const got = trace.messages({ node }).map((e) => [e.tracepoint, e.args.msg_type, e.args.msg_size, e.args.msg, e.peer_node]);
      const want = replayed.filter((e) => e.node === node).map((e) => [e.tracepoint, e.args.msg_type, e.args.msg_size, e.args.msg, 1 - node]);
      expect(got).toEqual(want);
    }
    const version = trace.messages({ node: 1, direction: 'out', msg_type: 'version' })[0]!;
    expect(version.source).toBe('usdt');
    expect(version.args.msg_captured).toBe(version.args.msg_size);
    expect(decodePayload('version', version.args.msg!)).toMatchObject({ protocolVersion: 70016, userAgent: '/Satoshi:29.0.0/' });
  });

  test('the handshake rules hold, asserted with the matchers', () => {
    const conn = trace.connection(1, 0);
    expect(conn).toSendFirst('dialer', 'version');
    expect(conn).toSendOnlyAfterReceived('listener', 'version', 'version');
    expect(conn).toSendBetween('both', ['wtxidrelay', 'sendaddrv2'], { after: 'version', before: 'verack' });
    expect(conn).toSendOnlyAfterReceived('both', 'sendcmpct', 'verack');
    expect(conn).toSend('dialer', 'getaddr');
    expect(conn).not.toSend('listener', 'getaddr');
    expect(trace).toHaveNoTraceErrors();
  });

  test('a wrong expectation on these events fails with the side-by-side diff', () => {
    expect(() => expect(trace.connection(1, 0)).toSendFirst('listener', 'verack')).toThrow(/✗\s+1 │ verack/);
  });
});
