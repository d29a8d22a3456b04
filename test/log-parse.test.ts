import { describe, expect, it } from 'vitest';
import { lastProcessStart, parseLogLine, parseTimestampUs } from '../tracing/log-parse.js';

// Lines of a real Knots 29.4 node (-debug=net -logtimemicros=1), the outbound side of a handshake.
const KNOTS_OUTBOUND = `2026-11-25T16:12:08.440736Z [net] start sending v2 handshake to peer=0
2026-11-25T16:12:08.467581Z [net] sending version (117 bytes) peer=0
2026-11-25T16:12:08.467658Z [net] send version message: version 70016, blocks=0, txrelay=1, peer=0
2026-11-25T16:12:08.468104Z [net] received: version (117 bytes) peer=0
2026-11-25T16:12:08.468121Z [net] sending wtxidrelay (0 bytes) peer=0
2026-11-25T16:12:08.468139Z [net] sending sendaddrv2 (0 bytes) peer=0
2026-11-25T16:12:08.468502Z [net] sending verack (0 bytes) peer=0
2026-11-25T16:12:08.468547Z [net] sending getaddr (0 bytes) peer=0
2026-11-25T16:12:08.469258Z [net] received: feefilter (8 bytes) peer=0
2026-11-25T16:12:08.469264Z [net] received: feefilter of 0.09170997 BTC/kvB from peer=0
2026-11-25T16:12:08.469797Z [net] received: headers (1 bytes) peer=0`;

// The same node type with -logthreadnames=1 -logsourcelocations=1 (real lines, inbound side).
const KNOTS_THREADS_AND_SOURCES = [
  '2026-11-25T16:12:08.467959Z [msghand] [src/net_processing.cpp:3485] [virtual void {anonymous}::PeerManagerImpl::ProcessMessage(CNode&, const std::string&, DataStream&, std::chrono::microseconds, const std::atomic<bool>&)] [net] received: version (117 bytes) peer=0',
  '2026-11-25T16:12:08.467990Z [msghand] [src/net.cpp:4103] [void CConnman::PushMessage(CNode*, CSerializedNetMsg&&)] [net] sending version (117 bytes) peer=0',
  '2026-11-25T16:12:08.469733Z [msghand] [src/net_processing.cpp:4318] [virtual void {anonymous}::PeerManagerImpl::ProcessMessage(CNode&, const std::string&, DataStream&, std::chrono::microseconds, const std::atomic<bool>&)] [net] getheaders -1 to end from peer=0',
];

describe('parseLogLine', () => {
  it('turns every message line of a real handshake log into a record, in order, and skips the rest', () => {
    const records = KNOTS_OUTBOUND.split('\n').map(parseLogLine);
    const messages = records.filter((r) => r !== null);
    expect(messages.map((r) => (r.kind === 'message' ? `${r.tracepoint === 'net:outbound_message' ? 'out' : 'in'} ${r.msgType} ${r.msgSize} ${r.peerId}` : r.kind))).toEqual([
      'out version 117 0',
      'in version 117 0',
      'out wtxidrelay 0 0',
      'out sendaddrv2 0 0',
      'out verack 0 0',
      'out getaddr 0 0',
      'in feefilter 8 0',
      'in headers 1 0',
    ]);
  });

  it('reads the µs wall-clock timestamp', () => {
    const record = parseLogLine('2026-11-25T16:12:08.467581Z [net] sending version (117 bytes) peer=0');
    expect(record).toEqual({
      kind: 'message',
      tracepoint: 'net:outbound_message',
      wallTimeUs: Date.parse('2026-11-25T16:12:08.467Z') * 1000 + 581,
      peerId: 0,
      msgType: 'version',
      msgSize: 117,
    });
  });

  it('skips thread names, source locations and function signatures (-logthreadnames, -logsourcelocations)', () => {
    const [received, sent, other] = KNOTS_THREADS_AND_SOURCES.map(parseLogLine);
    expect(received).toMatchObject({ tracepoint: 'net:inbound_message', msgType: 'version', msgSize: 117, peerId: 0, wallTimeUs: Date.parse('2026-11-25T16:12:08.467Z') * 1000 + 959 });
    expect(sent).toMatchObject({ tracepoint: 'net:outbound_message', msgType: 'version', msgSize: 117, peerId: 0 });
    expect(other).toBeNull();
  });

  it.each([
    ['no category prefix (Core before v27)', '2023-05-01T10:00:00.000001Z received: verack (0 bytes) peer=3', 'net:inbound_message', 'verack', 0, 3],
    ['old thread name, no category', '2023-05-01T10:00:00.000001Z [b-msghand] sending ping (8 bytes) peer=12', 'net:outbound_message', 'ping', 8, 12],
    ['old `sending:` spelling', '2016-01-01 10:00:00 sending: inv (37 bytes) peer=7', 'net:outbound_message', 'inv', 37, 7],
    ['trailing \\r', '2026-11-25T16:12:08.468121Z [net] sending wtxidrelay (0 bytes) peer=0\r', 'net:outbound_message', 'wtxidrelay', 0, 0],
    ['setmocktime suffix on the timestamp', '2026-11-25T16:12:08.468121Z (mocktime: 2030-01-01T00:00:00Z) [net] received: block (251 bytes) peer=4', 'net:inbound_message', 'block', 251, 4],
    ['-logips address after the peer id', '2026-11-25T16:12:08.468121Z [net] received: tx (225 bytes) peer=2, peeraddr=127.0.0.1:18444', 'net:inbound_message', 'tx', 225, 2],
  ])('tolerates %s', (_, line, tracepoint, msgType, msgSize, peerId) => {
    expect(parseLogLine(line)).toMatchObject({ kind: 'message', tracepoint, msgType, msgSize, peerId });
  });

  it('keeps second-resolution timestamps when -logtimemicros is off, and null when timestamps are off', () => {
    expect(parseLogLine('2026-11-25T16:12:08Z [net] sending pong (8 bytes) peer=1')).toMatchObject({ wallTimeUs: Date.parse('2026-11-25T16:12:08Z') * 1000 });
    expect(parseLogLine('[net] sending pong (8 bytes) peer=1')).toMatchObject({ kind: 'message', wallTimeUs: null });
  });

  it('reports a line that looks like a message line but does not parse, instead of dropping it silently', () => {
    const line = '2026-11-25T16:12:08.468121Z [net] received: a b (3 bytes) peer=0';
    expect(parseLogLine(line)).toEqual({ kind: 'unknown-net', line });
    const glued = '2026-11-25T16:12:08.468121Z [net] resending ping (8 bytes) peer=0';
    expect(parseLogLine(glued)).toEqual({ kind: 'unknown-net', line: glued });
  });

  it('ignores net lines that are not message lines', () => {
    for (const line of [
      '2026-11-25T16:12:08.469264Z [net] received: feefilter of 0.09170997 BTC/kvB from peer=0',
      '2026-11-25T16:12:08.469133Z [net] initial getheaders (0) to peer=0 (startheight:0)',
      '2026-11-25T16:12:08.469133Z [net] received getdata (5 invsz) peer=0',
      '2026-11-25T16:12:08.404046Z [net] Added connection peer=0',
      '',
    ]) {
      expect(parseLogLine(line)).toBeNull();
    }
  });
});

describe('parseLogLine: misbehaving and closed connections', () => {
  // Real lines of a Knots 29.4 node punishing an inbound peer, then both sides closing (see scenarios/misbehaving.ts).
  const PUNISHED = `2026-11-25T16:34:59.945835Z [net] received: headers (82 bytes) peer=0
2026-11-25T16:34:59.945870Z [net] Misbehaving: peer=0: header with invalid proof of work
2026-11-25T16:34:59.945882Z [net] Warning: disconnecting but not discouraging local peer 0!
2026-11-25T16:34:59.995906Z [net] Resetting socket for peer=0
2026-11-25T16:34:59.996015Z [net] Cleared nodestate for peer=0`;

  it('turns the Misbehaving and Resetting socket lines into records, and nothing else around them', () => {
    expect(PUNISHED.split('\n').map(parseLogLine).map((r) => r?.kind ?? null)).toEqual(['message', 'misbehaving', null, 'closed', null]);
    const [, misbehaving, , closed] = PUNISHED.split('\n').map(parseLogLine);
    expect(misbehaving).toEqual({
      kind: 'misbehaving',
      tracepoint: 'net:misbehaving_connection',
      wallTimeUs: Date.UTC(2026, 10, 25, 16, 34, 59) * 1000 + 945870,
      peerId: 0,
      message: 'header with invalid proof of work',
    });
    expect(closed).toEqual({ kind: 'closed', tracepoint: 'net:closed_connection', wallTimeUs: Date.UTC(2026, 10, 25, 16, 34, 59) * 1000 + 995906, peerId: 0 });
  });

  it('reads the pre-v28 forms: the score in the Misbehaving line, and disconnecting peer=', () => {
    expect(parseLogLine('2023-10-01T10:00:00Z [net] Misbehaving: peer=3 (0 -> 100) DISCOURAGE THRESHOLD EXCEEDED: header with invalid proof of work')).toMatchObject({
      kind: 'misbehaving',
      peerId: 3,
      message: 'header with invalid proof of work',
    });
    expect(parseLogLine('2023-10-01T10:00:00Z [net] Misbehaving: peer=3 (0 -> 20)')).toMatchObject({ kind: 'misbehaving', peerId: 3, message: '' });
    expect(parseLogLine('2023-10-01T10:00:00Z disconnecting peer=7')).toMatchObject({ kind: 'closed', peerId: 7 });
    expect(parseLogLine('2023-10-01T10:00:00Z (mocktime: 2023-10-01T10:10:00Z) [net] Resetting socket for peer=7')).toMatchObject({ kind: 'closed', peerId: 7 });
  });

  it('does not take lines that merely end in disconnecting peer= for the socket close', () => {
    for (const line of [
      '2026-11-25T16:30:20.567546Z [net] socket closed, disconnecting peer=0',
      '2026-11-25T16:30:20.567546Z [net] non-continuous headers sequence, disconnecting peer=0',
      '2026-11-25T16:30:20.517357Z [net] Warning: disconnecting but not discouraging local peer 0!',
    ]) {
      expect(parseLogLine(line)).toBeNull();
    }
  });
});

describe('parseTimestampUs', () => {
  it('pads or cuts fractions to µs', () => {
    const base = Date.parse('2026-01-02T03:04:05Z') * 1000;
    expect(parseTimestampUs('2026-01-02T03:04:05.5Z x')).toBe(base + 500_000);
    expect(parseTimestampUs('2026-01-02T03:04:05.123456789Z x')).toBe(base + 123_456);
    expect(parseTimestampUs('2016-01-02 03:04:05 sending: inv (37 bytes) peer=7')).toBe(Date.parse('2016-01-02T03:04:05Z') * 1000);
    expect(parseTimestampUs('no time here')).toBeNull();
  });
});

describe('lastProcessStart', () => {
  const first = '\n\n\n\n\n2026-01-01T00:00:00.000000Z Bitcoin Knots version v29\n2026-01-01T00:00:01.000000Z [net] sending version (117 bytes) peer=0\n';
  const second = '\n\n\n\n\n2026-01-01T00:01:00.000000Z Bitcoin Knots version v29\n';

  it('is 0 for a log written by one process', () => {
    expect(lastProcessStart(Buffer.from(first))).toBe(0);
  });

  it("finds the five empty lines a restarted process writes first, and skips the earlier process's lines", () => {
    expect(lastProcessStart(Buffer.from(first + second + 'more\n'))).toBe(Buffer.byteLength(first));
    expect(lastProcessStart(Buffer.from(first + second + second))).toBe(Buffer.byteLength(first + second));
  });

  it('does not mistake a shorter run of empty lines for a process start', () => {
    expect(lastProcessStart(Buffer.from(first + '\n\n\n\nnot a start\n'))).toBe(0);
  });
});
