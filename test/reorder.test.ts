import { afterEach, describe, expect, test, vi } from 'vitest';
import type { TraceEvent } from '../tracing/events.js';
import { ReorderBuffer } from '../tracing/report/reorder.js';

const at = (node: number, t: number): TraceEvent => ({
  t,
  node,
  peer_node: 1 - node,
  source: 'log',
  tracepoint: 'net:outbound_message',
  args: { peer_id: 0, peer_addr: '127.0.0.1:1', peer_conn_type: 'manual', msg_type: `m${t}`, msg_size: 0 },
});

describe('ReorderBuffer: a live timeline in time order', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  test('node-by-node delivery comes out in t order once held long enough', () => {
    vi.useFakeTimers();
    const out: number[] = [];
    const buffer = new ReorderBuffer((e) => out.push(e.t), 150);
    for (const t of [10, 30, 50]) buffer.push(at(1, t)); // node 1's follower delivers first…
    for (const t of [20, 40]) buffer.push(at(0, t)); // …then node 0's, with earlier times
    expect(out).toEqual([]); // still held
    vi.advanceTimersByTime(200);
    expect(out).toEqual([10, 20, 30, 40, 50]);
  });

  test('events are released once held long enough, in arrival-time order when times increase; flush empties the buffer', () => {
    vi.useFakeTimers();
    const out: number[] = [];
    const buffer = new ReorderBuffer((e) => out.push(e.t), 150);
    buffer.push(at(0, 5));
    vi.advanceTimersByTime(100);
    buffer.push(at(1, 7));
    vi.advanceTimersByTime(80); // the first is due, the second not yet
    expect(out).toEqual([5]);
    buffer.flush();
    expect(out).toEqual([5, 7]);
    expect(vi.getTimerCount()).toBe(0); // no timer left behind
  });

  test('a late event with an earlier t goes first: what is still held waits for it (lag bounded by its own hold time)', () => {
    vi.useFakeTimers();
    const out: number[] = [];
    const buffer = new ReorderBuffer((e) => out.push(e.t), 150);
    buffer.push(at(1, 50));
    vi.advanceTimersByTime(100);
    buffer.push(at(0, 10)); // arrives later, happened earlier
    vi.advanceTimersByTime(100); // t=50 has been held 200 ms, but t=10 is in front and not due yet
    expect(out).toEqual([]);
    vi.advanceTimersByTime(100);
    expect(out).toEqual([10, 50]);
    buffer.flush();
  });
});
