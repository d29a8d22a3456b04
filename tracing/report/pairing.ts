/**
 * Turns a trace into diagram messages: one per *send*, paired with the matching receive.
 * TCP keeps order per connection and direction, so the n-th `inv` node A sent on a
 * connection is the n-th `inv` node B received on it: pair FIFO per (connection, sender, type).
 */
import { direction, isMessageEvent, type MessageEvent, type TraceEvent } from '../events.js';

export interface DiagramMessage {
  send: MessageEvent;
  from: number;
  /** Receiving harness node, or null for a peer outside the harness. */
  to: number | null;
  /** The receiver's net:inbound_message, when it was traced. */
  receive?: MessageEvent;
}

export interface PairedTrace {
  /** In send-time order. */
  messages: DiagramMessage[];
  /** Receives with no traced send (peer outside the harness, or the trace began mid-connection). */
  unpairedReceives: MessageEvent[];
}

export function pairSendsWithReceives(events: readonly TraceEvent[]): PairedTrace {
  const ordered = events
    .filter(isMessageEvent)
    .map((event, i) => ({ event, i }))
    .sort((a, b) => a.event.t - b.event.t || a.i - b.i)
    .map(({ event }) => event);

  const waiting = new Map<string, MessageEvent[]>();
  for (const event of ordered) {
    if (direction(event) !== 'in' || event.peer_node === null) continue;
    const key = queueKey(event, event.peer_node);
    const queue = waiting.get(key) ?? [];
    queue.push(event);
    waiting.set(key, queue);
  }

  const messages: DiagramMessage[] = [];
  for (const send of ordered) {
    if (direction(send) !== 'out') continue;
    const receive = send.peer_node === null ? undefined : waiting.get(queueKey(send, send.node))?.shift();
    messages.push({ send, from: send.node, to: send.peer_node, ...(receive ? { receive } : {}) });
  }
  return { messages, unpairedReceives: [...waiting.values()].flat().sort((a, b) => a.t - b.t) };
}

/**
 * A connection is named by who dialled whom: each side sees it with opposite conn types
 * (the acceptor sees `inbound`). Two connections dialled the same way between the same two
 * nodes cannot be told apart here; the harness does not build such topologies.
 */
export function connectionKey(event: MessageEvent): string {
  if (event.peer_node === null) return `${event.node}->${event.args.peer_addr}`;
  const accepted = event.args.peer_conn_type === 'inbound';
  const dialler = accepted ? event.peer_node : event.node;
  const acceptor = accepted ? event.node : event.peer_node;
  return `${dialler}->${acceptor}`;
}

function queueKey(event: MessageEvent, sender: number): string {
  return `${connectionKey(event)}|from ${sender}|${event.args.msg_type}`;
}
