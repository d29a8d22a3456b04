/**
 * The sequence diagram as inline SVG: a vertical lane per node, one horizontal arrow per
 * sent message (sender lane → receiver lane), send time on the left, receive time at the head.
 */
import { summarizeMessage } from '../decode/summary.js';
import { escapeHtml } from './escape.js';
import { KIND_STYLES, messageKind, type MessageKind } from './message-kinds.js';
import type { DiagramMessage } from './pairing.js';
import { formatRelativeMs } from './time.js';

export type LaneKey = number | 'outside';

export interface Lane {
  key: LaneKey;
  label: string;
  /** Up to two short lines under the name: version, role on the connection. */
  details: string[];
}

const TIME_COLUMN = 104;
const LANE_MARGIN = 120;
const LANE_GAP = 320;
const HEADER_HEIGHT = 96;
const ROW_HEIGHT = 34;
const GAP_ROW_HEIGHT = 26;
/** Sends further apart than this get a "… later" separator, so quiet periods are visible. */
const SHOW_PAUSE_US = 100_000;

export interface LaneLayout {
  width: number;
  x(key: LaneKey): number;
}

export function layoutLanes(lanes: readonly Lane[]): LaneLayout {
  const index = new Map(lanes.map((lane, i) => [lane.key, i]));
  return {
    width: TIME_COLUMN + 2 * LANE_MARGIN + Math.max(0, lanes.length - 1) * LANE_GAP,
    x: (key) => TIME_COLUMN + LANE_MARGIN + (index.get(key) ?? 0) * LANE_GAP,
  };
}

/** Arrowheads, one per kind (markers cannot take the line's colour everywhere); include once per page. */
export function renderArrowheadDefs(): string {
  const markers = (Object.keys(KIND_STYLES) as MessageKind[]).map(
    (kind) =>
      `<marker id="head-${kind}" viewBox="0 0 12 10" refX="11" refY="5" markerWidth="12" markerHeight="10" markerUnits="userSpaceOnUse" orient="auto"><path d="M0,0 L12,5 L0,10 z" fill="${KIND_STYLES[kind].color}"/></marker>`,
  );
  return `<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs>${markers.join('')}</defs></svg>`;
}

export function renderLaneHeader(lanes: readonly Lane[]): string {
  const layout = layoutLanes(lanes);
  const boxes = lanes.map((lane) => {
    const x = layout.x(lane.key);
    const details = lane.details.slice(0, 3);
    const height = 34 + details.length * 16;
    const lines = details.map(
      (line, i) => `<text class="lane-sub" x="${x}" y="${44 + i * 16}" text-anchor="middle">${escapeHtml(line)}</text>`,
    );
    return `<g class="lane-label" data-lane="${escapeHtml(lane.key)}"><rect x="${x - 110}" y="4" width="220" height="${height}" rx="8"/><text class="lane-name" x="${x}" y="27" text-anchor="middle">${escapeHtml(lane.label)}</text>${lines.join('')}</g>`;
  });
  return `<svg class="lane-header" width="${layout.width}" height="${HEADER_HEIGHT}" viewBox="0 0 ${layout.width} ${HEADER_HEIGHT}" role="img" aria-label="lanes">${boxes.join('')}</svg>`;
}

/** @param previousSendUs time of the send drawn just before this diagram, so a pause into it shows. */
export function renderSequenceBody(
  lanes: readonly Lane[],
  messages: readonly DiagramMessage[],
  originUs: number,
  previousSendUs?: number,
): string {
  const layout = layoutLanes(lanes);
  const rows: string[] = [];
  let y = 8;
  let previousT = previousSendUs;
  messages.forEach((message, i) => {
    if (previousT !== undefined && message.send.t - previousT > SHOW_PAUSE_US) {
      rows.push(renderPause(layout.width, y, message.send.t - previousT));
      y += GAP_ROW_HEIGHT;
    }
    previousT = message.send.t;
    rows.push(renderArrowRow(layout, message, y, i, originUs));
    y += ROW_HEIGHT;
  });
  const height = y + 8;
  const laneLines = lanes.map((lane) => {
    const x = layout.x(lane.key);
    return `<line class="lane-line" x1="${x}" y1="0" x2="${x}" y2="${height}"/>`;
  });
  return `<svg class="sequence" width="${layout.width}" height="${height}" viewBox="0 0 ${layout.width} ${height}" role="img" aria-label="sequence of ${messages.length} messages">${laneLines.join('')}${rows.join('')}</svg>`;
}

function renderArrowRow(layout: LaneLayout, message: DiagramMessage, top: number, rowIndex: number, originUs: number): string {
  const { send, receive } = message;
  const { msg_type, msg_size } = send.args;
  const kind = messageKind(msg_type);
  const fromX = layout.x(message.from);
  const toX = layout.x(message.to ?? 'outside');
  const rightward = toX >= fromX;
  const y = top + 22;
  // Stop just short of the lane line so the head touches it instead of covering it.
  const x2 = rightward ? toX - 2 : toX + 2;
  const midX = (fromX + toX) / 2;
  const sendTime = formatRelativeMs(send.t, originUs);
  const receiveText = receive ? `recv ${formatRelativeMs(receive.t, originUs)}` : 'receive not traced';
  const receiveX = rightward ? toX - 14 : toX + 14;
  const summary = safeSummary(send);
  const title = [
    `${msg_type} (${msg_size} B) sent ${sendTime}`,
    receive ? `received ${formatRelativeMs(receive.t, originUs)} (${((receive.t - send.t) / 1000).toFixed(3)} ms in flight)` : 'no matching receive in the trace',
    `connection: ${send.args.peer_conn_type} from the sender's side, peer=${send.args.peer_id} ${send.args.peer_addr}`,
    summary,
  ]
    .filter(Boolean)
    .join('\n');
  const stripe = rowIndex % 2 === 0 ? '' : `<rect class="stripe" x="0" y="${top}" width="${layout.width}" height="${ROW_HEIGHT}"/>`;
  return [
    `<g class="msg kind-${kind}${receive ? '' : ' unreceived'}" data-msg-type="${escapeHtml(msg_type)}">`,
    `<title>${escapeHtml(title)}</title>`,
    stripe,
    `<text class="t-send" x="${TIME_COLUMN - 12}" y="${y + 4}" text-anchor="end">${escapeHtml(sendTime)}</text>`,
    `<text class="msg-label" x="${midX}" y="${y - 7}" text-anchor="middle"><tspan class="msg-type">${escapeHtml(msg_type)}</tspan><tspan class="msg-size" dx="6">${escapeHtml(msg_size)} B</tspan></text>`,
    `<line class="arrow" x1="${fromX}" y1="${y}" x2="${x2}" y2="${y}" stroke="${KIND_STYLES[kind].color}" marker-end="url(#head-${kind})"/>`,
    `<circle class="origin" cx="${fromX}" cy="${y}" r="3.5" fill="${KIND_STYLES[kind].color}"/>`,
    `<text class="t-recv" x="${receiveX}" y="${y + 12}" text-anchor="${rightward ? 'end' : 'start'}">${escapeHtml(receiveText)}</text>`,
    `</g>`,
  ].join('');
}

function renderPause(width: number, top: number, gapUs: number): string {
  const seconds = gapUs / 1_000_000;
  const text = seconds >= 1 ? `${seconds.toFixed(2)} s later` : `${(gapUs / 1000).toFixed(1)} ms later`;
  const y = top + GAP_ROW_HEIGHT / 2;
  return `<g class="pause"><line x1="${TIME_COLUMN - 90}" y1="${y}" x2="${width - 10}" y2="${y}"/><text x="${TIME_COLUMN - 12}" y="${y - 4}" text-anchor="end">⋯ ${escapeHtml(text)}</text></g>`;
}

function safeSummary(event: DiagramMessage['send']): string | undefined {
  try {
    return summarizeMessage(event.args);
  } catch {
    return undefined;
  }
}
