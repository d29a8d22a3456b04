import { describe, expect, it } from 'vitest';
import type { TraceEvent } from '../tracing/events.js';
import { formatTimeline, formatTimelineLine, shouldUseColor, timelineContext } from '../tracing/report/timeline.js';
import { loadFixtureTrace } from './helpers/fixture-trace.js';

const nodes = [
  { index: 0, name: 'alice' },
  { index: 1, name: 'bob' },
];
const trace = loadFixtureTrace();
const lines = formatTimeline(trace, { nodes, color: false }).split('\n');

describe('whole-trace timeline of the real v29 handshake', () => {
  it('prints one line per event, ordered by time', () => {
    if (process.env.SHOW_TIMELINE) console.log(lines.slice(0, 30).join('\n'));
    expect(lines).toHaveLength(trace.length);
    const times = lines.map((l) => Number(/^\s*\+(\d+\.\d{3}) ms/.exec(l)?.[1]));
    expect(times.every((t) => Number.isFinite(t))).toBe(true);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('draws sends as name ──type──▶ peer and receives as name ◀──type── peer', () => {
    expect(lines[0]).toMatch(/^\s+\+0\.000 ms  bob\s+──version \(102 B\)─+▶ alice  \[manual\]/);
    expect(lines[1]).toMatch(/^\s+\+0\.705 ms  alice ◀──version \(102 B\)─+ bob  \[inbound\]/);
    // Far-side names line up for short message types.
    expect(lines[0]!.indexOf('alice')).toBe(lines[1]!.indexOf(' bob') + 1);
  });

  it('follows the handshake order of §5: wtxidrelay and sendaddrv2 before verack, getaddr only from the dialler', () => {
    const sendsBy = (name: string) =>
      lines
        .filter((l) => new RegExp(`ms  ${name}\\s+──`).test(l))
        .map((l) => /──([a-z0-9]+) \(/.exec(l)?.[1]);
    for (const name of ['alice', 'bob']) {
      const sends = sendsBy(name);
      expect(sends.slice(0, 4)).toEqual(['version', 'wtxidrelay', 'sendaddrv2', 'verack']);
    }
    expect(sendsBy('bob')).toContain('getaddr');
    expect(sendsBy('alice')).not.toContain('getaddr');
  });

  it('appends decoded summaries for version, sendcmpct and feefilter, and only those', () => {
    expect(lines[0]).toContain('protocol 70016 · services 0xc09 NETWORK|WITNESS|NETWORK_LIMITED|P2P_V2 · "/Satoshi:29.0.0/"');
    expect(lines.find((l) => l.includes('──sendcmpct'))).toMatch(/low-bandwidth · compact blocks v2$/);
    expect(lines.find((l) => l.includes('──feefilter'))).toMatch(/9170997 sat\/kvB \(0\.09170997 BTC\/kvB\)$/);
    expect(lines.find((l) => l.includes('──ping'))).toMatch(/\[(manual|inbound)\]$/);
  });

  it('contains no escape codes when colour is off', () => {
    expect(lines.join('\n')).not.toContain('\x1b[');
  });
});

describe('streaming lines', () => {
  const ping: TraceEvent = {
    tracepoint: 'net:outbound_message',
    t: 1_500_250,
    node: 2,
    peer_node: null,
    source: 'log',
    args: { peer_id: 7, peer_addr: '203.0.113.9:8333', peer_conn_type: 'outbound-full-relay', msg_type: 'ping', msg_size: 8 },
  };

  it('names peers outside the harness by address and counts time from the origin', () => {
    const line = formatTimelineLine(ping, timelineContext({ originUs: 500_000, color: false }));
    expect(line).toMatch(/^\s+\+1000\.250 ms  node2 ──ping \(8 B\)─+▶ 203\.0\.113\.9:8333 \(peer=7\)  \[outbound-full-relay\]$/);
  });

  it('colours on a TTY unless NO_COLOR is set', () => {
    expect(shouldUseColor({ isTTY: true }, {})).toBe(true);
    expect(shouldUseColor({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(shouldUseColor({ isTTY: false }, {})).toBe(false);
    expect(shouldUseColor(undefined, {})).toBe(false);
    const coloured = formatTimelineLine(ping, timelineContext({ stream: { isTTY: true }, env: {} }));
    expect(coloured).toContain('\x1b[36m');
    expect(coloured.replace(/\x1b\[[0-9;]*m/g, '')).toBe(formatTimelineLine(ping, timelineContext({ color: false })));
  });

  it('prints connection, close and misbehaviour events readably', () => {
    const ctx = timelineContext({ nodes, color: false });
    const base = { t: 10, node: 0, peer_node: 1, source: 'usdt' } as const;
    const conn = { peer_id: 0, peer_addr: '127.0.0.1:38492', peer_conn_type: 'inbound', peer_network: 0 };
    expect(
      formatTimelineLine({ ...base, tracepoint: 'net:inbound_connection', args: { ...conn, existing_connections: 1 } }, ctx),
    ).toMatch(/alice ◀═ accepts ═══ bob  \[inbound\]$/);
    expect(
      formatTimelineLine({ ...base, tracepoint: 'net:closed_connection', args: { ...conn, time_established: 1 } }, ctx),
    ).toMatch(/alice ✕ closed bob  \[inbound\]$/);
    expect(
      formatTimelineLine({ ...base, tracepoint: 'net:misbehaving_connection', args: { peer_id: 0, message: 'bad inv' } }, ctx),
    ).toMatch(/alice ⚠ misbehaving peer=0: bad inv$/);
  });

  it('keeps going when a payload is not hex', () => {
    const broken: TraceEvent = { ...ping, args: { ...ping.args, msg_type: 'feefilter', msg: 'xyz!', msg_size: 8 } };
    expect(formatTimelineLine(broken, timelineContext({ color: false }))).toContain('(undecodable payload:');
  });
});
