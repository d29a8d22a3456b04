import type { TraceEvent } from './events.js';

/**
 * One event per line, each exactly the events.ts shape, ending in a newline (none for no events).
 * This is what the CLI's `--json` prints, so `jq` and line-based tools work on it directly.
 */
export function eventsToNDJSON(events: Iterable<TraceEvent>): string {
  let out = '';
  for (const event of events) out += `${JSON.stringify(event)}\n`;
  return out;
}
