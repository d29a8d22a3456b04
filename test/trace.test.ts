import { afterEach, describe, expect, it, vi } from 'vitest';
import { HarnessError, isHarnessError } from '../harness/common/errors.js';
import { handshakeComplete, waitForHandshake } from '../tracing/connections.js';
import type { MessageEvent, TraceEvent } from '../tracing/events.js';
import { Trace } from '../tracing/trace.js';
import { loadFixtureTrace } from './helpers/fixture-trace.js';

const fixture = loadFixtureTrace();

function traceOf(events: readonly TraceEvent[], options?: ConstructorParameters<typeof Trace>[0]): Trace {
  const trace = new Trace(options);
  for (const event of events) trace.push(event);
  return trace;
}

/** Lets already-settled promise callbacks run, without letting any time pass. */
async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

function track<T>(promise: Promise<T>): { readonly state: 'pending' | 'resolved' | 'rejected'; value?: T; error?: unknown } {
  const tracked: { state: 'pending' | 'resolved' | 'rejected'; value?: T; error?: unknown } = { state: 'pending' };
  promise.then(
    (value) => Object.assign(tracked, { state: 'resolved', value }),
    (error: unknown) => Object.assign(tracked, { state: 'rejected', error }),
  );
  return tracked;
}

const isVerackIn = (node: number) => (e: TraceEvent) =>
  e.tracepoint === 'net:inbound_message' && e.node === node && e.args.msg_type === 'verack';

function lossError(lost: number): HarnessError {
  return new HarnessError('TRACE_EVENTS_LOST', `bpftrace lost ${lost} events`, {
    fix: 'Raise BPFTRACE_PERF_RB_PAGES or trace fewer probes',
  });
}

afterEach(() => {
  vi.useRealTimers();
});

describe('Trace.waitFor', () => {
  it('resolves on the push that delivers the event, with no timer involved beyond the deadline', async () => {
    vi.useFakeTimers();
    const trace = new Trace();
    const wait = track(trace.waitFor(isVerackIn(0), { timeoutMs: 5_000 }));
    // Only the deadline timer exists: nothing re-checks the trace on an interval.
    expect(vi.getTimerCount()).toBe(1);

    const verack = fixture.find(isVerackIn(0))!;
    const before = fixture.slice(0, fixture.indexOf(verack));
    for (const event of before) trace.push(event);
    await flushMicrotasks();
    expect(wait.state).toBe('pending');

    trace.push(verack);
    await flushMicrotasks();
    // Resolved without advancing the clock at all: the push itself settled it.
    expect(wait.state).toBe('resolved');
    expect(wait.value).toBe(verack);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('resolves from history with the first matching event in arrival order', async () => {
    vi.useFakeTimers(); // no time can pass: only a history hit can settle it
    const trace = traceOf(fixture);
    const isPingOut = (e: TraceEvent) => e.tracepoint === 'net:outbound_message' && e.args.msg_type === 'ping';
    const wait = track(trace.waitFor(isPingOut));
    await flushMicrotasks();
    expect(wait.state).toBe('resolved');
    expect(wait.value).toBe(fixture.find(isPingOut));
    // node 1 queued its ping before node 0 did in this trace.
    expect(wait.value?.node).toBe(1);
  });

  it('times out with the description and what each connection side exchanged', async () => {
    vi.useFakeTimers();
    const handshakeStart = fixture.slice(0, 6); // node 1's version, node 0's reply up to its verack
    const trace = traceOf(handshakeStart);
    const wait = track(trace.waitFor(isVerackIn(1), { timeoutMs: 2_000, description: 'node 1 to receive verack' }));

    await vi.advanceTimersByTimeAsync(1_999);
    expect(wait.state).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    expect(wait.state).toBe('rejected');

    const error = wait.error as HarnessError;
    expect(isHarnessError(error, 'TIMEOUT')).toBe(true);
    expect(error.message).toBe('Timed out after 2000 ms waiting for node 1 to receive verack');
    expect(error.fix).toMatch(/REGTEST_HARNESS_TIMEOUT_FACTOR/);
    expect(error.evidence).toContain('6 events traced so far.');
    expect(error.evidence).toContain('connection 1→0 #1');
    expect(error.evidence).toMatch(/node1 \(dialer\), peer_id 0\n\s+sent:\s+version \(1\)\n\s+received:\s+\(nothing\)/);
    expect(error.evidence).toMatch(/node0 \(listener\), peer_id 0\n\s+sent:\s+version, wtxidrelay, sendaddrv2, verack \(4\)/);
  });

  it('rejects pending waits when the tracer dies, and later waits unless history already has the event', async () => {
    const trace = traceOf(fixture.slice(0, 3));
    const pending = track(trace.waitFor(isVerackIn(1), { timeoutMs: 60_000 }));
    const died = new HarnessError('TRACER_FAILED', 'bpftrace exited with code 1', { fix: 'Read its stderr below' });
    trace.fail(died);
    await flushMicrotasks();
    expect(pending.state).toBe('rejected');
    expect(pending.error).toBe(died);

    await expect(trace.waitFor(isVerackIn(0), { timeoutMs: 60_000 })).rejects.toBe(died);
    // What was traced before the failure is still true.
    await expect(trace.waitFor((e) => e.node === 0)).resolves.toBe(fixture[1]);
    expect(() => trace.assertHealthy()).toThrow(died);
  });

  it('rejects with the abort reason when the signal aborts', async () => {
    const trace = new Trace();
    const controller = new AbortController();
    const wait = trace.waitFor(() => true, { signal: controller.signal, timeoutMs: 60_000 });
    controller.abort(new Error('test over'));
    await expect(wait).rejects.toThrow('test over');
  });

  it('waitForMessage resolves on the matching message and refuses camelCase filter fields', async () => {
    const trace = new Trace();
    const wait = trace.waitForMessage({ node: 0, peer_node: 1, direction: 'in', msg_type: 'verack' }, { timeoutMs: 60_000 });
    for (const event of fixture) trace.push(event);
    await expect(wait).resolves.toBe(fixture.find(isVerackIn(0)));

    const misspelt = { node: 0, peerNode: 1 } as unknown as Parameters<Trace['waitForMessage']>[0];
    expect(() => trace.waitForMessage(misspelt)).toThrow(expect.objectContaining({ code: 'BAD_OPTION', fix: expect.stringContaining("'peer_node'") }));
  });

  it('names the awaited message and the pair in a waitForMessage timeout', async () => {
    vi.useFakeTimers();
    const trace = traceOf(fixture.slice(0, 2));
    const wait = track(trace.waitForMessage({ node: 0, peer_node: 1, direction: 'in', msg_type: 'verack' }, { timeoutMs: 10 }));
    await vi.advanceTimersByTimeAsync(10);
    expect((wait.error as HarnessError).message).toBe("Timed out after 10 ms waiting for node 0 to receive 'verack' from node 1");
  });
});

describe('Trace queries', () => {
  it('selects messages by node, peer, direction and type', () => {
    const trace = traceOf(fixture);
    const node1Sent = trace.messages({ node: 1, direction: 'out' }).map((e) => e.args.msg_type);
    expect(node1Sent.slice(0, 5)).toEqual(['version', 'wtxidrelay', 'sendaddrv2', 'verack', 'getaddr']);
    const getaddrs = trace.messages({ msg_type: 'getaddr' });
    expect(getaddrs.map((e) => [e.node, e.tracepoint])).toEqual([
      [1, 'net:outbound_message'],
      [0, 'net:inbound_message'],
    ]);
    expect(trace.messages({ peer_node: null })).toEqual([]);
  });

  it('serialises to NDJSON: one event per line, exactly the event shape', () => {
    const trace = traceOf(fixture.slice(0, 4));
    const ndjson = trace.toNDJSON();
    expect(ndjson.endsWith('\n')).toBe(true);
    const lines = ndjson.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual(fixture.slice(0, 4));
    expect(JSON.parse(JSON.stringify(trace))).toEqual(fixture.slice(0, 4));
  });
});

/** The same handshake again as a reconnection: new peer ids on both nodes, later timestamps. */
function reconnection(events: readonly MessageEvent[], peerIdOffset: number, tOffset: number): MessageEvent[] {
  return events.map((e) => ({ ...e, t: e.t + tOffset, args: { ...e.args, peer_id: e.args.peer_id + peerIdOffset } }));
}

describe('connections', () => {
  it('pairs the dialer side (non-inbound) with the listener side (inbound) of 1→0', () => {
    const view = traceOf(fixture).connection(1, 0);
    expect(view.label).toBe('1→0 #1');
    expect([view.dialer.node, view.dialer.connType, view.dialer.peerId]).toEqual([1, 'manual', 0]);
    expect([view.listener.node, view.listener.connType, view.listener.peerId]).toEqual([0, 'inbound', 0]);
    expect(view.dialer.sent().slice(0, 4)).toEqual(['version', 'wtxidrelay', 'sendaddrv2', 'verack']);
    expect(view.listener.received().slice(0, 4)).toEqual(['version', 'wtxidrelay', 'sendaddrv2', 'verack']);
    expect(view.dialer.events.length + view.listener.events.length).toBe(fixture.length);
    expect(handshakeComplete(view)).toBe(true);
    // Nobody dialled 0→1.
    expect(traceOf(fixture).connection(0, 1).dialer.events).toEqual([]);
  });

  it('keeps a reconnection apart by peer id and pairs the k-th connection of each side', () => {
    const handshake = fixture.slice(0, 42); // up to the first headers exchange
    const second = reconnection(handshake, 1, 10_000_000);
    const trace = traceOf([...handshake, ...second]);

    const connections = trace.connections();
    expect(connections.map((c) => c.label)).toEqual(['1→0 #1', '1→0 #2']);
    const [first, again] = connections as [(typeof connections)[0], (typeof connections)[0]];
    expect([first.dialer.peerId, first.listener.peerId]).toEqual([0, 0]);
    expect([again.dialer.peerId, again.listener.peerId]).toEqual([1, 1]);
    expect(again.dialer.sent()).toEqual(first.dialer.sent());
    expect(again.dialer.events.every((e) => e.t >= 10_000_000)).toBe(true);
    expect(trace.connection(1, 0, { occurrence: 'last' }).label).toBe('1→0 #2');
    expect(trace.connection(1, 0, { occurrence: 2 }).listener.events).toHaveLength(
      second.filter((e) => e.node === 0).length,
    );
    // Asking for a connection not traced yet gives empty sides, not someone else's.
    expect(trace.connection(1, 0, { occurrence: 3 }).dialer.peerId).toBeUndefined();
    expect(() => trace.connection(1, 0, { occurrence: 0 })).toThrow(expect.objectContaining({ code: 'BAD_OPTION' }));
  });

  it('orders a side by the node clock even if the tracer delivered it out of order', () => {
    // Deliver node 1's wtxidrelay (t 1206) before its version (t 0), as per-CPU buffers might.
    const version = fixture[0]!;
    const wtxidrelay = fixture[7]!;
    expect([version.node, version.args.msg_type, wtxidrelay.node, wtxidrelay.args.msg_type]).toEqual([1, 'version', 1, 'wtxidrelay']);
    const delivered = [wtxidrelay, ...fixture.filter((e) => e !== wtxidrelay)];
    const trace = traceOf(delivered);
    expect(trace.events[0]).toBe(wtxidrelay);
    expect(trace.connection(1, 0).dialer.sent().slice(0, 2)).toEqual(['version', 'wtxidrelay']);
  });

  it('waitForHandshake resolves on the verack that completes the second side', async () => {
    const trace = new Trace();
    const done = track(waitForHandshake(trace, 1, 0, { timeoutMs: 60_000 }));
    const completing = fixture.findIndex(isVerackIn(0)); // node 1 processed node 0's verack earlier
    expect(fixture.findIndex(isVerackIn(1))).toBeLessThan(completing);
    for (const [i, event] of fixture.entries()) {
      trace.push(event);
      await flushMicrotasks();
      expect(done.state).toBe(i < completing ? 'pending' : 'resolved');
      if (i === completing) break;
    }
    expect(done.value && handshakeComplete(done.value)).toBe(true);
  });

  it('waitForHandshake waits for the reconnection when asked for occurrence 2', async () => {
    const handshake = fixture.slice(0, 42);
    const trace = traceOf(handshake);
    const done = track(waitForHandshake(trace, 1, 0, { occurrence: 2, timeoutMs: 60_000 }));
    await flushMicrotasks();
    expect(done.state).toBe('pending');
    for (const event of reconnection(handshake, 1, 10_000_000)) trace.push(event);
    await flushMicrotasks();
    expect(done.state).toBe('resolved');
    expect(done.value?.dialer.peerId).toBe(1);
  });
});

describe('lost events', () => {
  it('are a trace error by default: recorded, failing pending waits, thrown by assertHealthy', async () => {
    const trace = traceOf(fixture.slice(0, 3));
    const pending = track(trace.waitFor(isVerackIn(1), { timeoutMs: 60_000 }));
    const lost = lossError(17);
    trace.fail(lost);
    await flushMicrotasks();
    expect(trace.errors).toEqual([lost]);
    expect(pending.error).toBe(lost);
    expect(() => trace.assertHealthy()).toThrow('bpftrace lost 17 events');
    expect(trace.connection(1, 0).notes).toEqual(['trace error [TRACE_EVENTS_LOST]: bpftrace lost 17 events']);
  });

  it('only warn with allowLoss, and still show up next to the data', async () => {
    const warned: HarnessError[] = [];
    const trace = traceOf(fixture.slice(0, 3), { allowLoss: true, onWarning: (w) => warned.push(w) });
    const pending = trace.waitFor(isVerackIn(1), { timeoutMs: 60_000 });
    trace.fail(lossError(5));
    expect(trace.errors).toEqual([]);
    expect(() => trace.assertHealthy()).not.toThrow();
    expect(warned.map((w) => w.message)).toEqual(['bpftrace lost 5 events']);
    expect(trace.warnings).toEqual(warned);
    expect(trace.connection(1, 0).notes[0]).toMatch(/^warning \[TRACE_EVENTS_LOST\]: bpftrace lost 5 events/);
    for (const event of fixture) trace.push(event);
    await expect(pending).resolves.toMatchObject({ node: 1, args: { msg_type: 'verack' } });
  });

  it('allowLoss does not downgrade a dead tracer', () => {
    const trace = new Trace({ allowLoss: true, onWarning: () => {} });
    trace.fail(new HarnessError('TRACER_FAILED', 'bpftrace was killed', { fix: 'Read its stderr' }));
    expect(() => trace.assertHealthy()).toThrow('bpftrace was killed');
  });
});
