/**
 * The sequence rules behind the matchers, as pure functions of one connection side. Kept free
 * of vitest so the CLI's scenario expectations can use the same rules and the same diffs.
 * Every rule looks at one node's side only: orders across the two nodes are not meaningful.
 */
import { HarnessError } from '../../harness/common/errors.js';
import type { ConnectionView, Role } from '../connections.js';
import { direction } from '../events.js';
import { laneName } from '../peer-lanes.js';
import { ANCHOR, MISMATCH, renderNodeTimeline, renderSentSideBySide, type Cell } from './diff.js';

export interface CheckResult {
  pass: boolean;
  /** The expectation as a sentence: "node1 (dialer) sends 'version' first". */
  claim: string;
  /** What was observed, one sentence: why it failed, or (for `.not`) that it held. */
  finding: string;
  /** The side-by-side table of what was traced, marked where the expectation breaks. */
  report: string;
}

const quote = (types: readonly string[]) => types.map((t) => `'${t}'`).join(', ');

/** The side's first messages are exactly `expected`, in that order. */
export function checkStartsWith(view: ConnectionView, role: Role, expected: readonly string[]): CheckResult {
  requireTypes('toStartWith', expected);
  const side = view.side(role);
  const sent = side.sent();
  const mismatch = expected.findIndex((type, i) => sent[i] !== type);
  const marks = new Map<number, string>(mismatch >= 0 ? [[mismatch, MISMATCH]] : []);
  const claim = `${side.label} starts with ${quote(expected)}`;
  const finding =
    mismatch < 0
      ? `it did: ${quote(sent.slice(0, expected.length))}`
      : sent[mismatch] === undefined
        ? `row ${mismatch + 1}: expected '${expected[mismatch]}', but ${side.label} sent only ${sent.length} message(s)`
        : `row ${mismatch + 1}: expected '${expected[mismatch]}', observed '${sent[mismatch]}'`;
  return { pass: mismatch < 0, claim, finding, report: renderSentSideBySide(view, role, { expected, marks }) };
}

/** The side's very first message is `msgType`. */
export function checkSendsFirst(view: ConnectionView, role: Role, msgType: string): CheckResult {
  const result = checkStartsWith(view, role, [msgType]);
  const first = view.side(role).sent()[0];
  const claim = `${view.side(role).label} sends '${msgType}' first`;
  const finding = first === undefined ? 'it sent nothing' : result.pass ? 'it did' : `it sent '${first}' first`;
  return { ...result, claim, finding };
}

/** `expected` appears in the side's sent messages in this order; other messages may interleave. */
export function checkSendsInOrder(view: ConnectionView, role: Role, expected: readonly string[]): CheckResult {
  requireTypes('toSendInOrder', expected);
  const side = view.side(role);
  const sent = side.sent();
  const expectedColumn: Cell[] = [];
  const marks = new Map<number, string>();
  let cursor = 0;
  let lastMatch = -1;
  let finding = '';
  const matchedRows: number[] = [];
  let failed = false;
  for (const [k, type] of expected.entries()) {
    const row = sent.indexOf(type, cursor);
    if (row >= 0) {
      expectedColumn[row] = type;
      matchedRows.push(row);
      lastMatch = row;
      cursor = row + 1;
      continue;
    }
    failed = true;
    // Sent, but before the previous expected message (and not already used as an earlier match)?
    const earlier = sent.findLastIndex((t, i) => t === type && i < cursor && !matchedRows.includes(i));
    const afterWhat = k === 0 ? '' : ` after '${expected[k - 1]}' (row ${lastMatch + 1})`;
    if (earlier >= 0) {
      expectedColumn[earlier] = `${type} (too early)`;
      marks.set(earlier, MISMATCH);
      finding = `'${type}' was not sent${afterWhat}; it was sent earlier, at row ${earlier + 1}`;
    } else {
      const ghostRow = rowsBelowBothSides(view);
      expectedColumn[ghostRow] = `${type} (never sent)`;
      marks.set(ghostRow, MISMATCH);
      finding = `'${type}' was never sent${afterWhat}`;
    }
    break;
  }
  if (!failed) finding = `it did, at rows ${matchedRows.map((i) => i + 1).join(', ')}`;
  const claim = `${side.label} sends ${quote(expected)} in this order`;
  return { pass: !failed, claim, finding, report: renderSentSideBySide(view, role, { expected: expectedColumn, marks }) };
}

export interface Window {
  /** The first message of this type opens the window (exclusive). */
  after: string;
  /** The first message of this type after `after` closes it (exclusive). */
  before: string;
}

/** Each of `msgTypes` is sent at least once strictly between the first `after` and the next `before`. */
export function checkSendsBetween(view: ConnectionView, role: Role, msgTypes: readonly string[], window: Window): CheckResult {
  requireTypes('toSendBetween', msgTypes);
  if (!window || typeof window.after !== 'string' || typeof window.before !== 'string') {
    throw new HarnessError('BAD_OPTION', 'toSendBetween needs both bounds of the window', {
      fix: "Pass { after: 'version', before: 'verack' } as the third argument",
    });
  }
  const side = view.side(role);
  const sent = side.sent();
  const claim = `${side.label} sends ${quote(msgTypes)} after '${window.after}' and before '${window.before}'`;
  const start = sent.indexOf(window.after);
  const end = start < 0 ? -1 : sent.indexOf(window.before, start + 1);
  const expectedColumn: Cell[] = [];
  const marks = new Map<number, string>();
  if (start >= 0) {
    expectedColumn[start] = `after: ${window.after}`;
    marks.set(start, ANCHOR);
  }
  if (end >= 0) {
    expectedColumn[end] = `before: ${window.before}`;
    marks.set(end, ANCHOR);
  }
  const report = () => renderSentSideBySide(view, role, { expected: expectedColumn, marks });
  if (start < 0 || end < 0) {
    const missing = start < 0 ? window.after : `${window.before}' after '${window.after}`;
    return { pass: false, claim, finding: `the window is not there: '${missing}' was never sent`, report: report() };
  }
  const problems: string[] = [];
  let nextGhostRow = rowsBelowBothSides(view);
  for (const type of msgTypes) {
    const rows = sent.flatMap((t, i) => (t === type ? [i] : []));
    const inside = rows.find((i) => i > start && i < end);
    if (inside !== undefined) {
      expectedColumn[inside] = type;
      continue;
    }
    if (rows.length === 0) {
      const ghostRow = nextGhostRow++;
      expectedColumn[ghostRow] = `${type} (never sent)`;
      marks.set(ghostRow, MISMATCH);
      problems.push(`'${type}' was never sent`);
    } else {
      for (const i of rows) {
        expectedColumn[i] = `${type} (${i < start ? 'before' : 'after'} the window)`;
        marks.set(i, MISMATCH);
      }
      const where = rows.map((i) => i + 1).join(', ');
      problems.push(`'${type}' was sent at row ${where}, outside the window: '${window.after}' at row ${start + 1}, '${window.before}' at row ${end + 1}`);
    }
  }
  const finding = problems.length === 0 ? `it did, between rows ${start + 1} and ${end + 1}` : problems.join('; ');
  return { pass: problems.length === 0, claim, finding, report: report() };
}

/**
 * Every `sentType` the side sent comes after it received its first `receivedType`, in the
 * node's own order. Meaningful for messages whose tracepoints fire on one thread (b-msghand:
 * inbound_message in ProcessMessages, these outbound_message calls from SendMessages/ProcessMessage),
 * so their relative order on that node is the real order. Fails if `sentType` was never sent:
 * an expectation about something that never happened would pass vacuously.
 */
export function checkSendsOnlyAfterReceived(view: ConnectionView, role: Role, sentType: string, receivedType: string): CheckResult {
  requireTypes('toSendOnlyAfterReceived', [sentType, receivedType]);
  const side = view.side(role);
  const events = side.events;
  const receivedAt = events.findIndex((e) => direction(e) === 'in' && e.args.msg_type === receivedType);
  const sentRows = events.flatMap((e, i) => (direction(e) === 'out' && e.args.msg_type === sentType ? [i] : []));
  const early = sentRows.filter((i) => receivedAt < 0 || i < receivedAt);
  const notes = new Map<number, string>();
  const marks = new Map<number, string>();
  if (receivedAt >= 0) {
    notes.set(receivedAt, `← first '${receivedType}' from ${laneName(side.peerNode)}`);
    marks.set(receivedAt, ANCHOR);
  }
  for (const i of early) {
    notes.set(i, `sent before '${receivedType}' was received`);
    marks.set(i, MISMATCH);
  }
  const claim = `${side.label} sends '${sentType}' only after receiving '${receivedType}'`;
  let finding: string;
  if (sentRows.length === 0) finding = `'${sentType}' was never sent`;
  else if (early.length > 0)
    finding =
      receivedAt < 0
        ? `'${sentType}' was sent (row ${early.map((i) => i + 1).join(', ')}) but '${receivedType}' was never received`
        : `'${sentType}' was sent at row ${early.map((i) => i + 1).join(', ')}, before '${receivedType}' was received at row ${receivedAt + 1}`;
  else finding = `it did: '${receivedType}' received at row ${receivedAt + 1}, '${sentType}' sent at row ${sentRows.map((i) => i + 1).join(', ')}`;
  const pass = sentRows.length > 0 && early.length === 0;
  return { pass, claim, finding, report: renderNodeTimeline(view, role, { notes, marks }) };
}

/** The side sent `msgType` at least once (use `.not` for "never"). */
export function checkSends(view: ConnectionView, role: Role, msgType: string): CheckResult {
  requireTypes('toSend', [msgType]);
  const side = view.side(role);
  const rows = side.sent().flatMap((t, i) => (t === msgType ? [i] : []));
  const marks = new Map(rows.map((i): [number, string] => [i, MISMATCH]));
  const expected: Cell[] = [];
  for (const i of rows) expected[i] = msgType;
  const claim = `${side.label} sends '${msgType}'`;
  const finding = rows.length === 0 ? 'it never did' : `it did, at row ${rows.map((i) => i + 1).join(', ')}`;
  return { pass: rows.length > 0, claim, finding, report: renderSentSideBySide(view, role, { expected, marks }) };
}

/**
 * The side never sent `msgType`. A side none of whose sends was traced (the connection was never
 * made or never traced, or the tracer missed its outbound messages) FAILS, naming why: "never"
 * on nothing observed would hold vacuously.
 */
export function checkNeverSends(view: ConnectionView, role: Role, msgType: string, claim?: string): CheckResult {
  const sends = checkSends(view, role, msgType);
  const side = view.side(role);
  const sentence = claim ?? `${side.label} never sends '${msgType}'`;
  // A slice may rightly hold no send; the whole side must have some for "never" to mean anything.
  if ((side.whole ?? side).sent().length === 0) return { pass: false, claim: sentence, finding: untracedSends(view, role), report: sends.report };
  return { ...sends, pass: !sends.pass, claim: sentence, finding: sends.pass ? sends.finding : 'it did not' };
}

/** Why a side's sends cannot support a "never": nothing of the connection, or nothing it sent, was traced. */
function untracedSends(view: ConnectionView, role: Role): string {
  const side = view.side(role).whole ?? view.side(role);
  const vacuous = `so "never sends" would hold vacuously`;
  if (side.events.length === 0) {
    return `connection ${view.label} was never traced on node${side.node}: no message of it was observed, ${vacuous} (was the connection made, and the tracer attached before it?)`;
  }
  return `nothing ${side.label} sent on ${view.label} was traced (only ${side.received().length} received message(s)), ${vacuous} (the tracer may be missing outbound messages)`;
}

/**
 * First free row of a side-by-side table. A message never sent is shown there: any higher row
 * would sit next to an unrelated message of the other side.
 */
function rowsBelowBothSides(view: ConnectionView): number {
  return Math.max(view.dialer.sent().length, view.listener.sent().length);
}

function requireTypes(matcher: string, types: readonly string[]): void {
  if (Array.isArray(types) && types.length > 0 && types.every((t) => typeof t === 'string' && t !== '')) return;
  throw new HarnessError('BAD_OPTION', `${matcher} got ${JSON.stringify(types)} where message types were expected`, {
    fix: `Pass message type names as Core spells them, e.g. ${matcher}('dialer', ${matcher === 'toSendInOrder' || matcher === 'toStartWith' || matcher === 'toSendBetween' ? "['version', 'verack']" : "'version'"})`,
  });
}
