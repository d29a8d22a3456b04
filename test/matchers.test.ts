import { describe, expect, it } from 'vitest';
import { HarnessError } from '../harness/common/errors.js';
import { installTraceMatchers } from '../harness/vitest/index.js';
import type { MessageEvent } from '../tracing/events.js';
import { Trace } from '../tracing/trace.js';
import { loadFixtureTrace } from './helpers/fixture-trace.js';
import { checkNeverSends } from '../scenarios/checks.js';

// As a vitest setupFiles entry would: before any test body (or describe-level code) runs.
installTraceMatchers();

const fixture = loadFixtureTrace();

function traceOf(events: readonly MessageEvent[]): Trace {
  const trace = new Trace();
  for (const event of events) trace.push(event);
  return trace;
}

/** The message of the assertion error `assertion` throws; fails the test if it doesn't throw. */
function failureOf(assertion: () => void): string {
  try {
    assertion();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the assertion to fail, but it passed');
}

function indexOfMessage(events: readonly MessageEvent[], node: number, dir: 'IN' | 'OUT', msgType: string): number {
  const tracepoint = dir === 'IN' ? 'net:inbound_message' : 'net:outbound_message';
  const i = events.findIndex((e) => e.node === node && e.tracepoint === tracepoint && e.args.msg_type === msgType);
  if (i < 0) throw new Error(`fixture has no ${dir} ${msgType} on node ${node}`);
  return i;
}

/**
 * Breaks the order on one node: the two messages trade places in arrival order *and* in time
 * (each takes the other's slot and `t`), as if the node had really done them the other way round.
 */
function swapOnNode(node: number, a: ['IN' | 'OUT', string], b: ['IN' | 'OUT', string]): MessageEvent[] {
  const events = [...fixture];
  const i = indexOfMessage(events, node, ...a);
  const j = indexOfMessage(events, node, ...b);
  const [ei, ej] = [events[i]!, events[j]!];
  events[i] = { ...ej, t: ei.t };
  events[j] = { ...ei, t: ej.t };
  return events;
}

/** Lines of the side-by-side table (they all contain the column separator). */
function tableLines(message: string): string[] {
  return message.split('\n').filter((line) => line.includes('│'));
}

/** Every table row puts its column separators where the header does (trailing blank columns may be trimmed). */
function expectAlignedColumns(message: string): void {
  const separators = (line: string) => [...line.matchAll(/│/g)].map((m) => m.index);
  const [header, ...rows] = tableLines(message);
  const columns = separators(header!);
  expect(columns.length).toBeGreaterThanOrEqual(2);
  for (const row of rows) expect(separators(row), row).toEqual(columns.slice(0, separators(row).length));
}

describe('Core v29 handshake rules (docs/sources.md, "Handshake order") hold on the real trace', () => {
  const trace = traceOf(fixture);
  const conn = trace.connection(1, 0);

  it('the dialer sends version first; the listener answers with its own version first', () => {
    expect(conn).toSendFirst('dialer', 'version');
    expect(conn).toSendFirst('both', 'version');
    expect(conn).toSendOnlyAfterReceived('listener', 'version', 'version');
  });

  it('wtxidrelay and sendaddrv2 come after version and before verack, in that order, on both sides', () => {
    expect(conn).toSendBetween('both', ['wtxidrelay', 'sendaddrv2'], { after: 'version', before: 'verack' });
    expect(conn).toSendInOrder('both', ['version', 'wtxidrelay', 'sendaddrv2', 'verack']);
    expect(conn).toStartWith('listener', ['version', 'wtxidrelay', 'sendaddrv2', 'verack']);
  });

  it('sendcmpct is sent only after the peer’s verack was received, on both sides', () => {
    expect(conn).toSendOnlyAfterReceived('both', 'sendcmpct', 'verack');
  });

  it('getaddr comes only from the dialer, right after its verack', () => {
    expect(conn).toStartWith('dialer', ['version', 'wtxidrelay', 'sendaddrv2', 'verack', 'getaddr']);
    expect(conn).toSend('dialer', 'getaddr');
    expect(conn).not.toSend('listener', 'getaddr');
  });

  it('ping, getheaders, feefilter go out in one SendMessages pass order', () => {
    expect(conn).toSendInOrder('both', ['sendcmpct', 'ping', 'getheaders', 'feefilter']);
  });

  it('the trace has no errors', () => {
    expect(trace).toHaveNoTraceErrors();
  });
});

describe('matchers fail when the order is broken', () => {
  it('toSendFirst: the dialer sent wtxidrelay before version', () => {
    const conn = traceOf(swapOnNode(1, ['OUT', 'version'], ['OUT', 'wtxidrelay'])).connection(1, 0);
    expect(() => expect(conn).toSendFirst('dialer', 'version')).toThrow(/Observed: it sent 'wtxidrelay' first/);
    // The listener's side is untouched, so only the dialer's side fails with 'both'.
    const message = failureOf(() => expect(conn).toSendFirst('both', 'version'));
    expect(message).toContain('Expected: node1 (dialer) sends');
    expect(message).not.toContain('Expected: node0 (listener)');
  });

  it('toSendBetween and toSendInOrder: the dialer sent sendaddrv2 after verack', () => {
    const conn = traceOf(swapOnNode(1, ['OUT', 'sendaddrv2'], ['OUT', 'verack'])).connection(1, 0);
    expect(conn.dialer.sent().slice(0, 4)).toEqual(['version', 'wtxidrelay', 'verack', 'sendaddrv2']);

    const between = failureOf(() =>
      expect(conn).toSendBetween('both', ['wtxidrelay', 'sendaddrv2'], { after: 'version', before: 'verack' }),
    );
    expect(between).toContain(
      "Observed: 'sendaddrv2' was sent at row 4, outside the window: 'version' at row 1, 'verack' at row 3",
    );
    // Columns are positional per side: row 4 of the listener's column is its own 4th message.
    expect(between).toMatch(/^✗ +4 │ sendaddrv2 \(after the window\) +│ sendaddrv2 +0 B +│ verack +0 B$/m);
    // Only the dialer's side broke the rule.
    expect(between).not.toContain('Expected: node0 (listener)');
    expect(between).toMatch(/^▸ +3 │ before: verack +│ verack +0 B/m);
    expectAlignedColumns(between);

    const inOrder = failureOf(() => expect(conn).toSendInOrder('dialer', ['version', 'wtxidrelay', 'sendaddrv2', 'verack']));
    expect(inOrder).toContain("Observed: 'verack' was not sent after 'sendaddrv2' (row 4); it was sent earlier, at row 3");
    expect(inOrder).toMatch(/^✗ +3 │ verack \(too early\) +│ verack +0 B/m);
    expectAlignedColumns(inOrder);
  });

  it('toSendOnlyAfterReceived: the dialer sent sendcmpct before it processed the listener’s verack', () => {
    const conn = traceOf(swapOnNode(1, ['IN', 'verack'], ['OUT', 'sendcmpct'])).connection(1, 0);
    const message = failureOf(() => expect(conn).toSendOnlyAfterReceived('dialer', 'sendcmpct', 'verack'));
    expect(message).toContain("Expected: node1 (dialer) sends 'sendcmpct' only after receiving 'verack'");
    expect(message).toMatch(/Observed: 'sendcmpct' was sent at row (\d+), before 'verack' was received at row (\d+)/);
    // The timeline has the node's received and sent messages in two columns, one event per row.
    expect(tableLines(message)[0]).toMatch(/# │ node1 \(dialer\) received from node0 +│ node1 \(dialer\) sent to node0/);
    expect(message).toMatch(/^✗ +9 │ +│ sendcmpct +9 B +│ sent before 'verack' was received$/m);
    expect(message).toMatch(/^▸ +10 │ verack +0 B +│ +│ ← first 'verack' from node0$/m);
    expectAlignedColumns(message);
  });

  it('not.toSend: the listener sent getaddr too', () => {
    const nodeZeroVerack = indexOfMessage(fixture, 0, 'OUT', 'verack');
    const verack = fixture[nodeZeroVerack]!;
    const getaddr: MessageEvent = { ...verack, t: verack.t + 1, args: { ...verack.args, msg_type: 'getaddr' } };
    const events = [...fixture.slice(0, nodeZeroVerack + 1), getaddr, ...fixture.slice(nodeZeroVerack + 1)];
    const conn = traceOf(events).connection(1, 0);
    const message = failureOf(() => expect(conn).not.toSend('listener', 'getaddr'));
    expect(message).toContain("Expected NOT: node0 (listener) sends 'getaddr'");
    expect(message).toContain('Observed: it did, at row 5');
    expect(message).toMatch(/^✗ +5 │ getaddr +│ getaddr +0 B +│ getaddr +0 B$/m);
    // The listener sent far more than fits: the table is shortened, but the marked row stays.
    expect(message).toMatch(/⋮ {2}\d+ more rows/);
    expectAlignedColumns(message);
  });

  it('toSendInOrder: a message that was never sent gets a row below everything observed', () => {
    // sendtxrcncl is only negotiated with -txreconciliation, which the fixture's nodes didn't use.
    const conn = traceOf(fixture).connection(1, 0);
    const message = failureOf(() => expect(conn).toSendInOrder('dialer', ['version', 'sendtxrcncl', 'verack']));
    expect(message).toContain("Observed: 'sendtxrcncl' was never sent after 'version' (row 1)");
    const rows = Math.max(conn.dialer.sent().length, conn.listener.sent().length);
    expect(message).toMatch(new RegExp(`^✗ +${rows + 1} │ sendtxrcncl \\(never sent\\) +│ +│$`, 'm'));
    expectAlignedColumns(message);
  });

  it('toHaveNoTraceErrors: names the error, its fix and evidence', () => {
    const trace = traceOf(fixture);
    trace.fail(
      new HarnessError('TRACE_EVENTS_LOST', 'bpftrace lost 3 events', {
        fix: 'Raise BPFTRACE_PERF_RB_PAGES',
        evidence: 'Lost 3 events',
      }),
    );
    const message = failureOf(() => expect(trace).toHaveNoTraceErrors());
    expect(message).toContain('Expected the trace to have no errors, but it has 1:');
    expect(message).toContain('[TRACE_EVENTS_LOST]: bpftrace lost 3 events — Raise BPFTRACE_PERF_RB_PAGES');
    expect(message).toContain('Lost 3 events');
  });

  it('fail on a connection nobody made, showing that neither side was traced', () => {
    const conn = traceOf(fixture).connection(0, 1);
    const message = failureOf(() => expect(conn).toSendFirst('dialer', 'version'));
    expect(message).toContain('Observed: it sent nothing');
    expect(message).toContain('connection 0→1 #1: node0 (dialer, not traced) ⇄ node1 (listener, not traced)');
    expect(message).toMatch(/^✗ 1 │ version  │ +│$/m);
  });
});

describe('the failure diff', () => {
  const conn = traceOf(fixture).connection(1, 0);
  const message = failureOf(() => expect(conn).toStartWith('dialer', ['version', 'verack', 'getaddr']));

  it('says what was expected and what was observed, in words', () => {
    expect(message.split('\n').slice(0, 4)).toEqual([
      "expect(connection 1→0 #1).toStartWith('dialer', [\"version\",\"verack\",\"getaddr\"])",
      '',
      "Expected: node1 (dialer) starts with 'version', 'verack', 'getaddr'",
      "Observed: row 2: expected 'verack', observed 'wtxidrelay'",
    ]);
    expect(message).toContain('connection 1→0 #1: node1 (dialer, manual, peer_id 0) ⇄ node0 (listener, inbound, peer_id 0)');
  });

  it('shows expected, the tested side and the other side in aligned columns, mismatch marked, sizes shown', () => {
    const lines = tableLines(message);
    expect(lines[0]).toMatch(/^ +# │ expected │ node1 \(dialer\) sent +│ node0 \(listener\) sent$/);
    expect(lines[1]).toMatch(/^ +1 │ version +│ version +102 B +│ version +102 B$/);
    expect(lines[2]).toMatch(/^✗ +2 │ verack +│ wtxidrelay +0 B +│ wtxidrelay +0 B$/);
    expect(lines.filter((l) => l.startsWith('✗'))).toHaveLength(1);
    expectAlignedColumns(message);
    // Sizes right-aligned within the column: "version  102 B" above "getheaders  69 B".
    const version = lines.find((l) => /│ version/.test(l))!;
    const getheaders = lines.find((l) => /│ getheaders/.test(l))!;
    expect(version.indexOf(' B')).toBe(getheaders.indexOf(' B'));
  });

  it('shows the failing expectation under .not too', () => {
    const negated = failureOf(() => expect(conn).not.toSendFirst('dialer', 'version'));
    expect(negated).toContain("Expected NOT: node1 (dialer) sends 'version' first");
    expect(negated).toContain('Observed: it did');
  });

  it('rejects a missing side with a fix', () => {
    const wrong = () => (expect(conn).toSendFirst as (...args: unknown[]) => void)('version');
    expect(wrong).toThrow(expect.objectContaining({ code: 'BAD_OPTION', fix: expect.stringContaining("toSendFirst('dialer', …)") }));
  });
});

describe('a "never" on something never traced fails (issue 10)', () => {
  it('.not.toSend on a connection that was never traced fails, naming why', () => {
    const conn = traceOf(fixture).connection(0, 1); // the fixture's nodes only ever connected 1→0
    const message = failureOf(() => expect(conn).not.toSend('listener', 'getaddr'));
    expect(message).toContain("Expected: node1 (listener) never sends 'getaddr'");
    expect(message).toContain('connection 0→1 #1 was never traced on node1');
    expect(message).toContain('"never sends" would hold vacuously');
  });

  it(".not.toSend fails when only a side's received messages were traced (outbound messages missed)", () => {
    const inboundOnly = fixture.filter((e) => e.tracepoint === 'net:inbound_message');
    const conn = traceOf(inboundOnly).connection(1, 0);
    const message = failureOf(() => expect(conn).not.toSend('both', 'getaddr'));
    expect(message).toMatch(/nothing node0 \(listener\) sent on 1→0 #1 was traced \(only \d+ received message\(s\)\)/);
    expect(message).toContain('the tracer may be missing outbound messages');
  });

  it('checkNeverSends (the scenarios\' rule) fails the same way, and still holds on a traced side that never sent it', () => {
    const never = checkNeverSends(traceOf(fixture).connection(0, 1), 'listener', 'getaddr');
    expect(never.pass).toBe(false);
    expect(never.finding).toContain('was never traced');
    const traced = checkNeverSends(traceOf(fixture).connection(1, 0), 'listener', 'getaddr');
    expect(traced).toMatchObject({ pass: true, finding: 'it did not' });
  });
});
