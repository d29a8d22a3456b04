import { HarnessError } from '../harness/common/errors.js';
import { direction, isMessageEvent, type MessageEvent, type TraceEvent } from './events.js';

/**
 * Which message events to select. Field names are the event's own (`peer_node`, `msg_type`),
 * so a filter reads like the NDJSON it selects from. Every field is optional; all given ones must match.
 */
export interface MessageFilter {
  /** The node that fired the tracepoint. */
  node?: number;
  /** The node on the other end (null: not a harness node). */
  peer_node?: number | null;
  /** Core's peer id on `node`. */
  peer_id?: number;
  /** Seen from `node`: 'in' = received (processed), 'out' = sent (queued). */
  direction?: 'in' | 'out';
  msg_type?: string;
}

const FILTER_FIELDS = new Set<string>(['node', 'peer_node', 'peer_id', 'direction', 'msg_type']);
const CAMEL_CASE_HINTS: Record<string, string> = { peerNode: 'peer_node', peerId: 'peer_id', msgType: 'msg_type' };

/**
 * Rejects unknown fields: a misspelt field would otherwise be ignored and the filter would
 * silently match far more than the caller meant.
 */
export function validateMessageFilter(filter: MessageFilter): void {
  for (const key of Object.keys(filter)) {
    if (FILTER_FIELDS.has(key)) continue;
    const hint = CAMEL_CASE_HINTS[key];
    throw new HarnessError('BAD_OPTION', `Unknown message filter field '${key}'`, {
      fix: hint
        ? `Use '${hint}' (filters use the event's own field names)`
        : `Use only ${[...FILTER_FIELDS].join(', ')}`,
    });
  }
  if (filter.direction !== undefined && filter.direction !== 'in' && filter.direction !== 'out') {
    throw new HarnessError('BAD_OPTION', `Message filter direction '${String(filter.direction)}' is not 'in' or 'out'`, {
      fix: "Use direction: 'in' for received messages or 'out' for sent ones",
    });
  }
}

export function matchesMessage(event: TraceEvent, filter: MessageFilter): event is MessageEvent {
  if (!isMessageEvent(event)) return false;
  if (filter.node !== undefined && event.node !== filter.node) return false;
  if (filter.peer_node !== undefined && event.peer_node !== filter.peer_node) return false;
  if (filter.peer_id !== undefined && event.args.peer_id !== filter.peer_id) return false;
  if (filter.direction !== undefined && direction(event) !== filter.direction) return false;
  if (filter.msg_type !== undefined && event.args.msg_type !== filter.msg_type) return false;
  return true;
}

/** "node 0 to receive 'verack' from node 1": the words a timeout message waits for. */
export function describeMessageFilter(filter: MessageFilter): string {
  const who = filter.node === undefined ? 'any node' : `node ${filter.node}`;
  const verb = filter.direction === 'in' ? 'receive' : filter.direction === 'out' ? 'send' : 'send or receive';
  const what = filter.msg_type === undefined ? 'a message' : `'${filter.msg_type}'`;
  const preposition = filter.direction === 'in' ? 'from' : filter.direction === 'out' ? 'to' : 'with';
  const peer =
    filter.peer_node !== undefined
      ? ` ${preposition} ${filter.peer_node === null ? 'a non-harness peer' : `node ${filter.peer_node}`}`
      : '';
  const peerId = filter.peer_id === undefined ? '' : ` (peer_id ${filter.peer_id})`;
  return `${who} to ${verb} ${what}${peer}${peerId}`;
}
