/**
 * The conformance matrix: one row per catalog tracepoint, one column per binary. A cell is
 * `✔ n` (fired n times, every argument check held), `✘ arg` (the first argument that failed),
 * `—` (absent, as the catalog expects for that version) or `!` (absent or never fired where the
 * catalog says it should fire, or present where it says it should not).
 */
import { catalog } from '../../tracing/catalog.js';
import type { BinaryConformance, ConformanceReport, TracepointConformance } from './types.js';

export function cell(t: TracepointConformance): string {
  if (!t.expected && !t.present) return '—';
  if (t.present !== t.expected || t.fired === 0) return '!';
  if (t.problems.length === 0) return `✔ ${t.fired}`;
  return `✘ ${t.problems[0]!.split(':')[0]}`;
}

/** A column title: the tag from the version line ("v29.0.0rc3"), else the version. */
export function columnTitle(binary: BinaryConformance): string {
  return /\bv\d+\.\d+[^\s]*/.exec(binary.versionLine)?.[0] ?? `v${binary.version}`;
}

export function conformanceOk(report: ConformanceReport): boolean {
  return report.binaries.every((b) => !b.error && b.tracepoints.every((t) => t.ok));
}

export function formatMatrix(report: ConformanceReport): string {
  const titles = report.binaries.map(columnTitle);
  const nameWidth = Math.max(...catalog.map((r) => r.name.length), 'tracepoint'.length);
  const widths = report.binaries.map((b, i) => Math.max(titles[i]!.length, ...b.tracepoints.map((t) => cell(t).length)));
  const row = (name: string, cells: string[]) => `${name.padEnd(nameWidth)}  ${cells.map((c, i) => c.padEnd(widths[i]!)).join('  ')}`.trimEnd();
  const lines = [row('tracepoint', titles)];
  catalog.forEach((record, index) => lines.push(row(record.name, report.binaries.map((b) => cell(b.tracepoints[index]!)))));
  lines.push('');
  for (const [i, binary] of report.binaries.entries()) {
    const counts = { ok: 0, absent: 0, bad: 0 };
    for (const t of binary.tracepoints) {
      if (!t.ok) counts.bad += 1;
      else if (t.present) counts.ok += 1;
      else counts.absent += 1;
    }
    const replaced = binary.tracepoints.find((t) => t.name === 'mempool:replaced');
    const args = replaced?.present ? `; mempool:replaced checked with ${replaced.arguments} arguments` : '';
    lines.push(`${titles[i]} (${binary.path}): ${counts.ok} ✔, ${counts.absent} —, ${counts.bad} not as the catalog expects${args}; ${binary.seconds} s`);
    if (binary.error) lines.push(`  run stopped: ${binary.error}`);
    for (const t of binary.tracepoints) for (const problem of t.ok ? [] : t.problems.length > 0 ? t.problems : ['not as the catalog expects']) lines.push(`  ${cell(t)}  ${t.name}: ${problem}`);
  }
  lines.push('', "✔ n fired n times, every argument as the truth says · ✘ arg first failed argument · — absent, as expected for that version · ! absent or never fired where expected");
  return lines.join('\n');
}

/** The --json shape: {"binaries":[{"path","version","tracepoints":[{name,present,expected,fired,ok,problems}…]}]}. */
export function conformanceJson(report: ConformanceReport): unknown {
  return {
    binaries: report.binaries.map((b) => ({
      path: b.path,
      version: b.version,
      tracepoints: b.tracepoints.map((t) => ({ name: t.name, present: t.present, expected: t.expected, fired: t.fired, ok: t.ok, problems: t.problems })),
      ...(b.error ? { error: b.error } : {}),
    })),
  };
}

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A self-contained HTML page: the matrix, each cell's problems as its tooltip and listed below. */
export function renderConformanceHtml(report: ConformanceReport): string {
  const titles = report.binaries.map(columnTitle);
  const head = `<tr><th>tracepoint</th>${titles.map((t, i) => `<th title="${escapeHtml(report.binaries[i]!.path)}">${escapeHtml(t)}</th>`).join('')}</tr>`;
  const rows = catalog.map((record, index) => {
    const cells = report.binaries.map((b) => {
      const t = b.tracepoints[index]!;
      const kind = t.ok ? (t.present ? 'ok' : 'absent') : 'bad';
      return `<td class="${kind}" title="${escapeHtml(t.problems.join('\n'))}">${escapeHtml(cell(t))}</td>`;
    });
    return `<tr><th>${escapeHtml(record.name)}</th>${cells.join('')}</tr>`;
  });
  const problems = report.binaries.flatMap((b, i) =>
    b.tracepoints.filter((t) => !t.ok).map((t) => `<li><b>${escapeHtml(titles[i]!)}</b> ${escapeHtml(t.name)}: ${escapeHtml(t.problems.join('; ') || 'not as the catalog expects')}</li>`),
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tracepoint conformance</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left}
td.ok{background:#e6f4ea}td.absent{color:#777}td.bad{background:#fce8e6;font-weight:bold}
</style></head><body>
<h1>Tracepoint conformance</h1>
<table>${head}${rows.join('')}</table>
<p>✔ n fired n times, every argument as the truth says · ✘ arg first failed argument · — absent, as expected for that version · ! absent or never fired where expected</p>
${problems.length > 0 ? `<h2>Not as the catalog expects</h2><ul>${problems.join('')}</ul>` : '<p>Every cell is what the catalog expects.</p>'}
</body></html>
`;
}
