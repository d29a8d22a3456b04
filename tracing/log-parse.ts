/**
 * Parsing of bitcoind debug.log lines into P2P message records. Pure: no I/O.
 *
 * Core logs every message it sends or processes when run with `-debug=net`:
 *   `sending <type> (<n> bytes) peer=<id>`      (net.cpp, PushMessage)
 *   `received: <type> (<n> bytes) peer=<id>`    (net_processing.cpp, ProcessMessage)
 * `<n>` is the payload size, the same number the USDT probes report as msg_size.
 *
 * Everything in front of that text varies by version and options, so it is skipped rather
 * than parsed: the timestamp (µs with `-logtimemicros`), ` (mocktime: …)` under setmocktime,
 * `[thread]` (`-logthreadnames`; `[b-msghand]` before v26), `[file:line] [function]`
 * (`-logsourcelocations`), `[net]` (the category, absent before v27). Older releases wrote
 * `sending: <type>`, so the colon after `sending` is optional.
 */
import type { TracepointName } from './events.js';

export type MessageTracepoint = Extract<TracepointName, 'net:inbound_message' | 'net:outbound_message'>;

/** One message line of debug.log. */
export interface LogMessageRecord {
  kind: 'message';
  tracepoint: MessageTracepoint;
  /** Wall-clock time of the line (UNIX epoch, µs); null when the node logs without timestamps. */
  wallTimeUs: number | null;
  peerId: number;
  msgType: string;
  msgSize: number;
}

/**
 * `Misbehaving: peer=<id>: <reason>` (net_processing.cpp, PeerManagerImpl::Misbehaving): the line
 * Core writes where it fires net:misbehaving_connection. Before v28 the line also carried the
 * score, `(<before> -> <after>)` and ` DISCOURAGE THRESHOLD EXCEEDED`; both are skipped.
 */
export interface LogMisbehavingRecord {
  kind: 'misbehaving';
  tracepoint: 'net:misbehaving_connection';
  wallTimeUs: number | null;
  peerId: number;
  /** The reason after `: `; empty when Core logged none. */
  message: string;
}

/**
 * `Resetting socket for peer=<id>` (v28+) or `disconnecting peer=<id>` (earlier): logged by
 * CNode::CloseSocketDisconnect exactly where it fires net:closed_connection (only when a socket was open).
 */
export interface LogClosedRecord {
  kind: 'closed';
  tracepoint: 'net:closed_connection';
  wallTimeUs: number | null;
  peerId: number;
}

/** A line that looks like a message line (`… bytes) peer=`) but does not parse: a format we don't know. */
export interface LogUnknownNetRecord {
  kind: 'unknown-net';
  line: string;
}

/** Every record that becomes a trace event. */
export type LogEventRecord = LogMessageRecord | LogMisbehavingRecord | LogClosedRecord;

export type LogLineRecord = LogEventRecord | LogUnknownNetRecord;

// ISO 8601 with 0–9 fraction digits; Core writes 6 with -logtimemicros and none without.
// Releases before ~0.17 wrote `YYYY-MM-DD hh:mm:ss` (UTC as well): space separator, no `Z`.
const TIMESTAMP = /^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)/;
// Anchored at the end so prefixes of any shape are skipped. The type is matched as non-space:
// Core sanitizes it, and a type it could not (a space in a peer-chosen type) would make the
// line ambiguous, so it is reported as not understood.
// `-logips` adds `peeraddr=` to some net lines; tolerated here so the option can't break tracing.
const MESSAGE = /(sending:?|received:) (\S+) \((\d+) bytes\) peer=(\d+)(?:,? peeraddr=\S+)?\s*$/;
// Cheap pre-filter: every message line has this text, almost no other line does.
const MESSAGE_MARKER = ' bytes) peer=';
const MISBEHAVING_MARKER = 'Misbehaving: peer=';
const MISBEHAVING = /Misbehaving: peer=(\d+)(?:,? peeraddr=\S+)?(?: \(-?\d+ -> -?\d+\))?(?: DISCOURAGE THRESHOLD EXCEEDED)?(?:: (.*))?$/;
const CLOSED_MARKERS = ['Resetting socket for peer=', 'disconnecting peer='];
// The text must start the line's message: after the timestamp (`Z `), `[category] ` or `(mocktime: …) `.
// That leaves out lines that merely end in these words, e.g. `socket closed, disconnecting peer=0`,
// which on v28+ is followed by its own `Resetting socket for peer=0`.
const CLOSED = /(?:^|[Z\])] )(?:Resetting socket for|disconnecting) peer=(\d+)(?:,? peeraddr=\S+)?\s*$/;

/** Parse one line (without its `\n`; a trailing `\r` is tolerated). Null for lines that are not about messages. */
export function parseLogLine(rawLine: string): LogLineRecord | null {
  if (!rawLine.includes(MESSAGE_MARKER)) return parseConnectionLine(rawLine);
  const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
  const match = MESSAGE.exec(line);
  // The verb must start the text (after a space or a `]` of a prefix), not end a longer word.
  if (!match || (match.index > 0 && !/[\s\]]/.test(line.charAt(match.index - 1)))) return { kind: 'unknown-net', line };
  const [, verb, msgType, size, peer] = match as unknown as [string, string, string, string, string];
  return {
    kind: 'message',
    tracepoint: verb.startsWith('sending') ? 'net:outbound_message' : 'net:inbound_message',
    wallTimeUs: parseTimestampUs(line),
    peerId: Number(peer),
    msgType,
    msgSize: Number(size),
  };
}

/** Misbehaving and closed-connection lines; null for every other line. */
function parseConnectionLine(rawLine: string): LogMisbehavingRecord | LogClosedRecord | null {
  const misbehaving = rawLine.includes(MISBEHAVING_MARKER);
  if (!misbehaving && !CLOSED_MARKERS.some((marker) => rawLine.includes(marker))) return null;
  const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
  if (misbehaving) {
    const match = MISBEHAVING.exec(line);
    if (!match) return null;
    return { kind: 'misbehaving', tracepoint: 'net:misbehaving_connection', wallTimeUs: parseTimestampUs(line), peerId: Number(match[1]), message: (match[2] ?? '').trimEnd() };
  }
  const match = CLOSED.exec(line);
  if (!match) return null;
  return { kind: 'closed', tracepoint: 'net:closed_connection', wallTimeUs: parseTimestampUs(line), peerId: Number(match[1]) };
}

/** The line's leading ISO 8601 timestamp as UNIX epoch µs, or null when it has none. */
export function parseTimestampUs(line: string): number | null {
  // Consecutive lines mostly share their second: reuse its conversion, the costly part.
  let epochMs: number;
  if (lastSecond.text !== '' && line.startsWith(lastSecond.text)) {
    epochMs = lastSecond.epochMs;
  } else {
    const m = TIMESTAMP.exec(line);
    if (!m) return null;
    const [, y, mo, d, h, mi, s] = m as unknown as [string, string, string, string, string, string, string];
    epochMs = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
    lastSecond = { text: line.slice(0, SECOND_PREFIX_LENGTH), epochMs };
  }
  // The fraction, padded or cut to exactly 6 digits: µs.
  if (line.charCodeAt(SECOND_PREFIX_LENGTH) !== 0x2e /* . */) return epochMs * 1000;
  let end = SECOND_PREFIX_LENGTH + 1;
  while (end < line.length && end < SECOND_PREFIX_LENGTH + 10 && isDigit(line.charCodeAt(end))) end++;
  const fraction = line.slice(SECOND_PREFIX_LENGTH + 1, end);
  return epochMs * 1000 + Number(fraction.padEnd(6, '0').slice(0, 6));
}

/** `YYYY-MM-DDThh:mm:ss` */
const SECOND_PREFIX_LENGTH = 19;
let lastSecond = { text: '', epochMs: 0 };

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

/**
 * bitcoind writes five empty lines each time a process opens debug.log (BCLog::Logger::StartLogging,
 * unchanged since 2012); no log statement writes such a run. So a run of them marks where a new
 * process starts appending: peer ids restart at 0 from there.
 */
export const PROCESS_START_BLANK_LINES = 5;

/** Whether a line (without `\n`) is empty: one line of a process-start run. */
export function isBlankLine(line: string): boolean {
  return line === '' || line === '\r';
}

/** Byte offset where the last process's section of debug.log content begins (0 when the content holds one process). */
export function lastProcessStart(content: Buffer): number {
  const run = '\n'.repeat(PROCESS_START_BLANK_LINES);
  for (let at = content.lastIndexOf(run); at > 0; at = content.lastIndexOf(run, at - 1)) {
    // The run must start a line, i.e. follow the `\n` that ended the previous process's last line.
    if (content[at - 1] === 0x0a) return at;
  }
  return 0;
}
