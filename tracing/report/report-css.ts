/** The report's stylesheet, inlined into the page (no external fetches). */
export const REPORT_CSS = `
:root { --ink:#0f172a; --muted:#64748b; --line:#e2e8f0; --paper:#ffffff; --bg:#f1f5f9; --accent:#2563eb; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", sans-serif; }
main { max-width: 1040px; margin: 0 auto; padding: 28px 24px 40px; }
header, section { background: var(--paper); border: 1px solid var(--line); border-radius: 12px; padding: 20px 24px; margin-bottom: 18px; }
h1 { font-size: 24px; margin: 0 0 6px; }
h2 { font-size: 18px; margin: 0 0 10px; }
h3 { font-size: 15px; margin: 0 0 4px; }
h4 { font-size: 12px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); margin: 14px 0 4px; }
code { font: 13px ui-monospace, "DejaVu Sans Mono", "Liberation Mono", monospace; background: #f1f5f9; padding: 1px 5px; border-radius: 4px; }
.muted { color: var(--muted); }
.warn { color: #b45309; }
.lead { margin: 0 0 10px; max-width: 70ch; }
.stats, .scenario { margin: 2px 0; color: var(--muted); }
.outcome { margin: 8px 0; display: flex; gap: 10px; align-items: baseline; }
.outcome .badge { font-weight: 700; font-size: 12px; letter-spacing: .06em; padding: 2px 10px; border-radius: 999px; color: #fff; }
.outcome.passed .badge { background: #16a34a; }
.outcome.failed .badge { background: #dc2626; }
.outcome-details { white-space: pre-wrap; font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 13px; }
table.nodes { border-collapse: collapse; margin-top: 10px; font-size: 14px; }
table.nodes th, table.nodes td { text-align: left; padding: 4px 14px 4px 0; border-bottom: 1px solid var(--line); }
table.nodes th { color: var(--muted); font-weight: 600; font-size: 12px; text-transform: uppercase; letter-spacing: .05em; }
.legend { list-style: none; display: flex; flex-wrap: wrap; gap: 6px 18px; padding: 0; margin: 0 0 12px; font-size: 13px; color: var(--muted); }
.legend .swatch { display: inline-block; width: 22px; height: 4px; border-radius: 2px; vertical-align: middle; margin-right: 6px; }
.legend .swatch.dashed { background: repeating-linear-gradient(90deg, var(--muted) 0 6px, transparent 6px 10px); }
figure.diagram { margin: 0; overflow-x: auto; }
figure.diagram svg { display: block; margin: 0 auto; }
figure.diagram.scroll { max-height: 70vh; overflow: auto; border: 1px solid var(--line); border-radius: 8px; }
.lane-header-wrap { position: sticky; top: 0; background: var(--paper); z-index: 1; }
.lane-label rect { fill: #0f172a; }
.lane-name { fill: #fff; font-weight: 700; font-size: 15px; }
.lane-sub { fill: #cbd5e1; font-size: 11.5px; }
.lane-line { stroke: #cbd5e1; stroke-width: 2; stroke-dasharray: 2 4; }
.stripe { fill: #f8fafc; }
.msg .arrow { stroke-width: 2.5; fill: none; }
.msg.unreceived .arrow { stroke-dasharray: 7 5; }
.msg:hover .arrow { stroke-width: 4; }
.msg:hover .msg-type { text-decoration: underline; }
.msg-label { font-size: 13px; }
.msg-type { font-weight: 700; fill: var(--ink); }
.msg-size { fill: var(--muted); font-size: 11.5px; }
.t-send { font: 12px ui-monospace, "DejaVu Sans Mono", monospace; fill: #334155; }
.t-recv { font: 10.5px ui-monospace, "DejaVu Sans Mono", monospace; fill: var(--muted); }
.pause line { stroke: #94a3b8; stroke-dasharray: 1 5; stroke-width: 2; }
.pause text { font: italic 12px system-ui, sans-serif; fill: var(--muted); }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 14px; }
.card { border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px; background: #fcfdff; }
.card h3 .arrow-glyph { color: var(--accent); }
.card p { margin: 0; font-size: 13px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 3px 12px; margin: 0; font-size: 14px; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; }
.chip { display: inline-block; font: 600 11px ui-monospace, "DejaVu Sans Mono", monospace; padding: 1px 7px; margin: 1px 0; border-radius: 999px; background: #dbeafe; color: #1e3a8a; }
.chip.unknown { background: #fee2e2; color: #7f1d1d; }
.notes { padding-left: 20px; margin: 0; }
.note { margin-bottom: 14px; }
.note p { margin: 2px 0; max-width: 80ch; }
.verdict { font-size: 13px; }
.verdict .badge { font-weight: 700; font-size: 11px; padding: 1px 8px; border-radius: 999px; margin-right: 6px; }
.verdict.holds .badge { background: #dcfce7; color: #166534; }
.verdict.violated .badge { background: #fee2e2; color: #991b1b; }
.verdict.not-in-trace .badge { background: #f1f5f9; color: var(--muted); }
.sources { font-size: 13px; color: var(--muted); }
.sources a { color: var(--accent); }
details summary { cursor: pointer; font-weight: 600; margin-bottom: 10px; }
footer { color: var(--muted); font-size: 12px; text-align: center; }
`;
