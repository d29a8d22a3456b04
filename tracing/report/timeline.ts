/**
 * The CLI's live timeline: one readable line per traced event, as it arrives.
 *
 *   +0.705 ms  node0 ◀──version (102 B)──────── node1  [inbound]  protocol 70016 · …
 *
 * The node that fired the tracepoint is always on the left; the arrow says which way the
 * message went. Colour only on a TTY, never with NO_COLOR (https://no-color.org).
 */
import { direction, isMessageEvent, type MessageEvent, type TraceEvent } from '../events.js';
import { summarizeMessage } from '../decode/summary.js';
import { nodeNamer, type NodeNamer, type ReportNode } from './nodes.js';
import { formatRelativeMs } from './time.js';

/** Message types whose decoded payload is worth a line's tail: they set up the connection. */
const SUMMARIZED_TYPES = new Set(['version', 'sendcmpct', 'feefilter']);
/** Arrows are padded to this many characters so the far node's names line up. */
const MIN_ARROW_WIDTH = 30;
const TIME_WIDTH = 13;

export interface TimelineContext {
  /** µs that prints as +0.000 ms; events' `t` already counts from the trace start, so usually 0. */
  originUs: number;
  nodeName: NodeNamer;
  /** Width the left-hand node name is padded to. */
  nameWidth: number;
  color: boolean;
}

export interface TimelineOptions {
  nodes?: readonly Pick<ReportNode, 'index' | 'name'>[];
  originUs?: number;
  /** Force colour on or off; by default decided from `stream` and `env`. */
  color?: boolean;
  stream?: { isTTY?: boolean };
  env?: Record<string, string | undefined>;
}

export function shouldUseColor(stream: { isTTY?: boolean } | undefined, env: Record<string, string | undefined>): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return stream?.isTTY === true;
}

export function timelineContext(options: TimelineOptions = {}): TimelineContext {
  const nodes = options.nodes ?? [];
  return {
    originUs: options.originUs ?? 0,
    nodeName: nodeNamer(nodes),
    nameWidth: Math.max(5, ...nodes.map((n) => n.name.length)),
    color: options.color ?? shouldUseColor(options.stream, options.env ?? process.env),
  };
}

/** One line, no trailing newline. Pure: the same event and context give the same line. */
export function formatTimelineLine(event: TraceEvent, ctx: TimelineContext): string {
  const paint = painter(ctx.color);
  const time = paint.dim(formatRelativeMs(event.t, ctx.originUs).padStart(TIME_WIDTH));
  const self = ctx.nodeName(event.node).padEnd(ctx.nameWidth);
  const body = isMessageEvent(event) ? messageBody(event, ctx, paint) : otherBody(event, ctx, paint);
  return `${time}  ${self} ${body}`.trimEnd();
}

/** The whole trace, ordered by time (tracers deliver each node's stream separately). */
export function formatTimeline(events: readonly TraceEvent[], options: TimelineOptions = {}): string {
  const ctx = timelineContext(options);
  return [...events]
    .map((event, i) => ({ event, i }))
    .sort((a, b) => a.event.t - b.event.t || a.i - b.i)
    .map(({ event }) => formatTimelineLine(event, ctx))
    .join('\n');
}

function messageBody(event: MessageEvent, ctx: TimelineContext, paint: Painter): string {
  const { msg_type, msg_size, peer_conn_type } = event.args;
  const label = `${paint.bold(msg_type)} (${msg_size} B)`;
  const fill = '─'.repeat(Math.max(2, MIN_ARROW_WIDTH - visibleLength(label) - 5));
  const outgoing = direction(event) === 'out';
  const arrow = outgoing ? paint.send(`──${label}${fill}─▶`) : paint.receive(`◀──${label}${fill}─`);
  const summary = SUMMARIZED_TYPES.has(msg_type) ? safeSummary(event) : undefined;
  return [`${arrow} ${otherSide(event, ctx)}`, paint.dim(`[${peer_conn_type}]`), summary].filter(Boolean).join('  ');
}

function otherBody(event: TraceEvent, ctx: TimelineContext, paint: Painter): string {
  switch (event.tracepoint) {
    case 'net:outbound_connection':
      return `${paint.send('══ connects ══▶')} ${otherSide(event, ctx)}  ${paint.dim(`[${event.args.peer_conn_type}]`)}`;
    case 'net:inbound_connection':
      return `${paint.receive('◀═ accepts ═══')} ${otherSide(event, ctx)}  ${paint.dim(`[${event.args.peer_conn_type}]`)}`;
    case 'net:closed_connection':
    case 'net:evicted_inbound_connection': {
      const verb = event.tracepoint === 'net:closed_connection' ? 'closed' : 'evicted';
      return `✕ ${verb} ${otherSide(event, ctx)}  ${paint.dim(`[${event.args.peer_conn_type}]`)}`;
    }
    case 'net:misbehaving_connection':
      return `⚠ misbehaving peer=${event.args.peer_id}: ${event.args.message}`;
    default:
      return `· ${event.tracepoint} ${Object.entries(event.args)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(' ')}`;
  }
}

function otherSide(event: TraceEvent, ctx: TimelineContext): string {
  if (event.peer_node !== null) return ctx.nodeName(event.peer_node);
  return 'peer_addr' in event.args ? `${event.args.peer_addr} (peer=${event.args.peer_id})` : 'unknown peer';
}

/** A payload a tracer mangled must not kill the live timeline. */
function safeSummary(event: MessageEvent): string | undefined {
  try {
    return summarizeMessage(event.args);
  } catch (error) {
    return `(undecodable payload: ${(error as Error).message})`;
  }
}

interface Painter {
  dim(s: string): string;
  bold(s: string): string;
  send(s: string): string;
  receive(s: string): string;
}

function painter(color: boolean): Painter {
  const wrap = (open: string, close: string) => (s: string) => (color ? `\x1b[${open}m${s}\x1b[${close}m` : s);
  return { dim: wrap('2', '22'), bold: wrap('1', '22'), send: wrap('36', '39'), receive: wrap('35', '39') };
}

function visibleLength(s: string): number {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\x1b\[[0-9;]*m/g, '').length;
}
