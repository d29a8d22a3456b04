import { describe, expect, it } from 'vitest';
import { checkTracedViewMatchesPeer } from '../../scenarios/peer-checks.js';
import type { TraceEvent } from '../../tracing/events.js';
import { peerLane } from '../../tracing/peer-lanes.js';
import { Trace } from '../../tracing/trace.js';

const LANE = peerLane(0);

/** One message as traced: by node 0 (its tracer) or by the peer's lane (source 'peer'). */
function message(side: 'node' | 'peer', dir: 'in' | 'out', type: string, size: number, t: number, raw = false): TraceEvent {
  const node = side === 'node';
  return {
    t,
    node: node ? 0 : LANE,
    peer_node: node ? LANE : 0,
    source: node ? 'log' : 'peer',
    tracepoint: dir === 'in' ? 'net:inbound_message' : 'net:outbound_message',
    args: { peer_id: 0, peer_addr: '127.0.0.1:1', peer_conn_type: node ? 'inbound' : 'outbound', msg_type: type, msg_size: size, ...(raw ? { raw: true } : {}) },
  };
}

/** The peer sent version, a raw frame and a ping; node 0 answered version, verack and pong. */
function exchange(nodeSentPongSize = 8): Trace {
  const trace = new Trace();
  const events = [
    message('peer', 'out', 'version', 109, 1),
    message('node', 'in', 'version', 109, 2),
    message('node', 'out', 'version', 102, 3),
    message('node', 'out', 'verack', 0, 4),
    message('peer', 'in', 'version', 102, 5),
    message('peer', 'in', 'verack', 0, 6),
    message('peer', 'out', 'ping', 8, 7, true), // dropped by the node (bad checksum)
    message('peer', 'out', 'ping', 8, 8),
    message('node', 'in', 'ping', 8, 9),
    message('node', 'out', 'pong', nodeSentPongSize, 10),
    message('peer', 'in', 'pong', 8, 11),
  ];
  for (const event of events) trace.push(event);
  return trace;
}

describe('checkTracedViewMatchesPeer', () => {
  it('holds when the node traced, per direction and in order, the types and sizes the peer sent and received (raw frames aside)', () => {
    const checks = checkTracedViewMatchesPeer(exchange().connection(LANE, 0), 'listener');
    expect(checks.map((c) => [c.pass, c.finding])).toEqual([
      [true, '3 messages match'],
      [true, '2 messages match'],
    ]);
  });

  it('fails on a size that differs, showing both sides', () => {
    const [sent] = checkTracedViewMatchesPeer(exchange(9).connection(LANE, 0), 'listener');
    expect(sent!.pass).toBe(false);
    expect(sent!.report).toContain('node: version(102), verack(0), pong(9)');
    expect(sent!.report).toContain('peer: version(102), verack(0), pong(8)');
  });

  it('fails rather than passing vacuously when the node traced no pong', () => {
    const trace = new Trace();
    trace.push(message('peer', 'out', 'version', 109, 1));
    trace.push(message('node', 'in', 'version', 109, 2));
    const [sent] = checkTracedViewMatchesPeer(trace.connection(LANE, 0), 'listener');
    expect(sent!.pass).toBe(false);
    expect(sent!.finding).toMatch(/no 'pong'/);
  });
});
