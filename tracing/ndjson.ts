import type { TraceEvent } from './events.js';

/** One event as one JSON line, keys in the documented order whatever order the tracer built them in. */
export function formatEventJson(event: TraceEvent, extra: Record<string, unknown> = {}): string {
  const { t, node, tracepoint, args, peer_node, source } = event;
  return JSON.stringify({ t, node, tracepoint, args, peer_node, source, ...extra });
}

/**
 * One event per line, each exactly the events.ts shape, ending in a newline (none for no events).
 * This is what the CLI's `--json` prints, so `jq` and line-based tools work on it directly.
 */
export function eventsToNDJSON(events: Iterable<TraceEvent>): string {
  let out = '';
  for (const event of events) out += `${formatEventJson(event)}\n`;
  return out;
}
