/**
 * Plain-text side-by-side tables for failed sequence expectations: one row per message, columns
 * aligned, sizes shown, a gutter marker on the row that breaks the expectation. No colours: the
 * same text goes to terminals, CI logs and the CLI's report, and tests can match on it.
 */
import type { ConnectionSide, ConnectionView, Role } from '../connections.js';
import { direction, type MessageEvent } from '../events.js';
import { laneName } from '../peer-lanes.js';

/** A message in a column: its type and its size in bytes (msg_size, the full size). */
export interface SizedMessage {
  type: string;
  size: number;
}

export type Cell = string | SizedMessage | undefined;

export interface TableColumn {
  header: string;
  /** Row i of the table; shorter columns are blank below their end. */
  cells: readonly Cell[];
}

export interface TableOptions {
  /** Row index → one-character gutter marker ('✗' on the row that breaks the expectation). */
  marks?: ReadonlyMap<number, string>;
  /** Tables longer than this are shortened around the first rows and the marked rows. */
  maxRows?: number;
}

/** The marker for the row where the expectation breaks. */
export const MISMATCH = '✗';
/** The marker for a row the expectation refers to (an 'after'/'before' bound, the awaited receipt). */
export const ANCHOR = '▸';

const COLUMN_GAP = ' │ ';
const CONTEXT_ROWS = 3;
const HEAD_ROWS = 10;

export function renderTable(columns: readonly TableColumn[], options: TableOptions = {}): string {
  const marks = options.marks ?? new Map<number, string>();
  const maxRows = options.maxRows ?? 30;
  const rowCount = Math.max(0, ...columns.map((c) => c.cells.length));
  const formatters = columns.map(columnFormatter);
  const numberWidth = Math.max(1, String(rowCount).length);
  const gutter = (mark: string, label: string) => `${mark.padEnd(1)} ${label.padStart(numberWidth)}`;

  const line = (mark: string, label: string, texts: readonly string[]) =>
    `${gutter(mark, label)}${COLUMN_GAP}${texts.map((t, i) => t.padEnd(formatters[i]!.width)).join(COLUMN_GAP)}`.trimEnd();

  const out = [line(' ', '#', columns.map((c) => c.header))];
  out.push(`${'─'.repeat(numberWidth + 2)}─┼─${formatters.map((f) => '─'.repeat(f.width)).join('─┼─')}`);
  let previous = -1;
  for (const row of visibleRows(rowCount, marks, maxRows)) {
    if (row !== previous + 1) out.push(`${' '.repeat(numberWidth + 2)} ⋮  ${row - previous - 1} rows not shown`);
    out.push(line(marks.get(row) ?? ' ', String(row + 1), formatters.map((f) => f.format(row))));
    previous = row;
  }
  if (previous < rowCount - 1) out.push(`${' '.repeat(numberWidth + 2)} ⋮  ${rowCount - 1 - previous} more rows`);
  if (rowCount === 0) out.push(`${gutter(' ', '')}${COLUMN_GAP}(no messages)`);
  return out.join('\n');
}

/** First rows always, then a few rows around each marked row; everything when the table is short. */
function visibleRows(rowCount: number, marks: ReadonlyMap<number, string>, maxRows: number): number[] {
  if (rowCount <= maxRows) return [...Array(rowCount).keys()];
  const keep = new Set<number>();
  for (let i = 0; i < Math.min(HEAD_ROWS, rowCount); i++) keep.add(i);
  for (const row of marks.keys()) {
    for (let i = row - CONTEXT_ROWS; i <= row + CONTEXT_ROWS; i++) if (i >= 0 && i < rowCount) keep.add(i);
  }
  return [...keep].sort((a, b) => a - b);
}

interface ColumnFormatter {
  width: number;
  format(row: number): string;
}

/** Message cells align their type names and right-align their sizes: "getheaders  69 B". */
function columnFormatter(column: TableColumn): ColumnFormatter {
  // Annotation columns are sparse (only some rows say something); Array.from turns holes into blanks.
  const cells = Array.from(column.cells);
  const messages = cells.filter((c): c is SizedMessage => typeof c === 'object');
  const typeWidth = Math.max(0, ...messages.map((m) => m.type.length));
  const sizeWidth = Math.max(0, ...messages.map((m) => String(m.size).length));
  const text = (cell: Cell) =>
    cell === undefined ? '' : typeof cell === 'string' ? cell : `${cell.type.padEnd(typeWidth)}  ${String(cell.size).padStart(sizeWidth)} B`;
  const width = Math.max(column.header.length, ...cells.map((c) => text(c).length));
  return { width, format: (row) => text(cells[row]) };
}

export function sized(event: MessageEvent): SizedMessage {
  return { type: event.args.msg_type, size: event.args.msg_size };
}

/** "node1 (dialer, manual, peer_id 0)", or "node1 (dialer, not traced)" while a side is empty. */
export function describeSide(side: ConnectionSide): string {
  if (side.peerId === undefined) return `${laneName(side.node)} (${side.role}, not traced)`;
  return `${laneName(side.node)} (${side.role}, ${side.connType ?? '?'}, peer_id ${side.peerId})`;
}

/** The heading of every connection table: which connection, which node is which. */
export function describeConnection(view: ConnectionView): string {
  return `connection ${view.label}: ${describeSide(view.dialer)} ⇄ ${describeSide(view.listener)}`;
}

function notesOf(view: ConnectionView): string[] {
  return view.notes.map((note) => `note: ${note}`);
}

export interface SentAnnotations {
  /** Column "expected" next to the tested side: what should be on each row. */
  expected?: readonly Cell[];
  marks?: ReadonlyMap<number, string>;
}

/**
 * What both sides sent, side by side — the tested side next to the expectation, the other side
 * as context: "expected │ node1 (dialer) sent │ node0 (listener) sent".
 */
export function renderSentSideBySide(view: ConnectionView, tested: Role, annotations: SentAnnotations = {}): string {
  const testedSide = view.side(tested);
  const otherSide = view.side(tested === 'dialer' ? 'listener' : 'dialer');
  const columns: TableColumn[] = [];
  if (annotations.expected) columns.push({ header: 'expected', cells: annotations.expected });
  columns.push({ header: `${testedSide.label} sent`, cells: testedSide.sentEvents().map(sized) });
  columns.push({ header: `${otherSide.label} sent`, cells: otherSide.sentEvents().map(sized) });
  const table = renderTable(columns, annotations.marks ? { marks: annotations.marks } : {});
  return [describeConnection(view), '', table, ...notesOf(view)].join('\n');
}

/**
 * One node's own timeline on a connection, received and sent in separate columns, one event per
 * row in the node's order: the view in which "sent only after it received X" can be read.
 */
export function renderNodeTimeline(
  view: ConnectionView,
  role: Role,
  annotations: { notes?: ReadonlyMap<number, string>; marks?: ReadonlyMap<number, string> } = {},
): string {
  const side = view.side(role);
  const peer = laneName(side.peerNode);
  const received = side.events.map((e) => (direction(e) === 'in' ? sized(e) : undefined));
  const sent = side.events.map((e) => (direction(e) === 'out' ? sized(e) : undefined));
  const columns: TableColumn[] = [
    { header: `${side.label} received from ${peer}`, cells: received },
    { header: `${side.label} sent to ${peer}`, cells: sent },
  ];
  if (annotations.notes) {
    columns.push({ header: 'check', cells: side.events.map((_, i) => annotations.notes?.get(i)) });
  }
  const table = renderTable(columns, annotations.marks ? { marks: annotations.marks } : {});
  return [describeConnection(view), '', table, ...notesOf(view)].join('\n');
}
