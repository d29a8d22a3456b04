/** A plain-text table in Markdown pipe syntax, columns padded so it also reads well in a terminal. */

export type Align = 'left' | 'right';

export interface Column {
  header: string;
  align?: Align;
}

/** Cell shown where a figure does not apply (e.g. handshakes of a single node). */
export const NOT_APPLICABLE = '—';

export function renderTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((column, i) => Math.max(column.header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    `| ${columns.map((column, i) => pad(cells[i] ?? '', widths[i]!, column.align ?? 'right')).join(' | ')} |`;
  // Markdown alignment markers, so the table renders the same when pasted into a PR.
  const rule = `|${columns.map((column, i) => (column.align === 'left' ? `:${'-'.repeat(widths[i]! + 1)}` : `${'-'.repeat(widths[i]! + 1)}:`)).join('|')}|`;
  return [line(columns.map((c) => c.header)), rule, ...rows.map(line)].join('\n');
}

function pad(text: string, width: number, align: Align): string {
  return align === 'left' ? text.padEnd(width) : text.padStart(width);
}

export function formatMs(ms: number | undefined): string {
  if (ms === undefined) return NOT_APPLICABLE;
  return ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`;
}

export function formatRatio(value: number | undefined): string {
  return value === undefined ? NOT_APPLICABLE : `${value.toFixed(2)}×`;
}

export function formatRange(min: number | undefined, max: number | undefined): string {
  if (min === undefined || max === undefined) return NOT_APPLICABLE;
  return `${min.toFixed(0)}–${max.toFixed(0)} ms`;
}
