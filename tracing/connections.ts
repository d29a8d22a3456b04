/**
 * Per-connection views of the message stream. "1→0" means node 1 dialled node 0. Each node
 * traces its own side of a connection; the two sides are never merged into one global order,
 * because inbound_message fires when a message is *processed* and outbound_message when it is
 * *queued* — only orders within one node's side are meaningful.
 */
import { HarnessError } from '../harness/common/errors.js';
import { direction, isMessageEvent, type MessageEvent, type TraceEvent } from './events.js';
import { laneName } from './peer-lanes.js';
import type { Trace, WaitOptions } from './trace.js';

export type Role = 'dialer' | 'listener';
/** Which side(s) of a connection an expectation is about. */
export type SideSelector = Role | 'both';
/** Which connection of a node pair: 1 = the first one traced, 'last' = the latest. */
export type Occurrence = number | 'last';

/** One node's side of one connection. */
export interface ConnectionSide {
  readonly role: Role;
  /** The node that traced this side. */
  readonly node: number;
  /** The node on the other end. */
  readonly peerNode: number;
  /** Core's id of the other node on this node; undefined while this side has no traced message. */
  readonly peerId: number | undefined;
  /** peer_conn_type as this node reports it ('inbound' on the listener; 'manual', … on the dialer). */
  readonly connType: string | undefined;
  /** This side's message events in the node's own order (by `t`, ties by arrival). */
  readonly events: readonly MessageEvent[];
  /** "node1 (dialer)". */
  readonly label: string;
  /** Message types this node queued for the peer, in order. */
  sent(): string[];
  /** Message types this node processed from the peer, in order. */
  received(): string[];
  sentEvents(): MessageEvent[];
  receivedEvents(): MessageEvent[];
  /** For a time slice of a side (scenarios/phase.ts): the whole side, to tell "nothing in this slice" from "never traced". */
  readonly whole?: ConnectionSide;
}

/** One connection between two harness nodes. Trace.connection() returns a live view (each read sees the current trace). */
export interface ConnectionView {
  readonly from: number;
  readonly to: number;
  /** 1-based: the k-th connection the dialer made to the listener. */
  readonly occurrence: number;
  readonly dialer: ConnectionSide;
  readonly listener: ConnectionSide;
  /** "1→0 #1". */
  readonly label: string;
  /** Trace errors and warnings (lost events) at snapshot time: they qualify what is shown. */
  readonly notes: readonly string[];
  side(role: Role): ConnectionSide;
}

export function roleOf(event: MessageEvent): Role {
  return event.args.peer_conn_type === 'inbound' ? 'listener' : 'dialer';
}

export function sidesOf(selector: SideSelector): Role[] {
  return selector === 'both' ? ['dialer', 'listener'] : [selector];
}

export function isConnectionView(value: unknown): value is ConnectionView {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<ConnectionView>;
  return typeof v.from === 'number' && typeof v.to === 'number' && typeof v.dialer === 'object' && typeof v.listener === 'object';
}

/** True once each side has processed the other's `verack`: the handshake barrier. */
export function handshakeComplete(view: ConnectionView): boolean {
  return view.dialer.received().includes('verack') && view.listener.received().includes('verack');
}

/**
 * Resolves with the connection once its handshake is complete (see handshakeComplete), on the
 * `verack` event that completes it. Rejects on timeout (showing what the pair exchanged) or on a trace error.
 */
export async function waitForHandshake(
  trace: Trace,
  from: number,
  to: number,
  options: Omit<WaitOptions, 'observed'> & { occurrence?: Occurrence } = {},
): Promise<ConnectionView> {
  const occurrence = options.occurrence ?? 1;
  const current = () => trace.connection(from, to, { occurrence });
  const completesPair = (event: TraceEvent) =>
    isMessageEvent(event) &&
    direction(event) === 'in' &&
    event.args.msg_type === 'verack' &&
    ((event.node === from && event.peer_node === to) || (event.node === to && event.peer_node === from));
  await trace.waitFor((event) => completesPair(event) && handshakeComplete(current()), {
    ...options,
    description: options.description ?? `the handshake on connection ${from}→${to} #${occurrence}`,
    observed: () => describeConnections(trace.connections().filter((c) => c.from === from && c.to === to)),
  });
  return current();
}

/** Compact text of what each side sent and received: evidence for timeouts. */
export function describeConnections(views: readonly ConnectionView[]): string {
  if (views.length === 0) return 'no messages traced on these connections';
  const lines: string[] = [];
  for (const view of views) {
    lines.push(`connection ${view.label}`);
    for (const side of [view.dialer, view.listener]) {
      const id = side.peerId === undefined ? 'not traced' : `peer_id ${side.peerId}`;
      lines.push(`  ${side.label}, ${id}`);
      lines.push(`    sent:     ${abbreviate(side.sent())}`);
      lines.push(`    received: ${abbreviate(side.received())}`);
    }
  }
  return lines.join('\n');
}

function abbreviate(types: readonly string[], head = 12, tail = 3): string {
  if (types.length === 0) return '(nothing)';
  if (types.length <= head + tail) return `${types.join(', ')} (${types.length})`;
  const skipped = types.length - head - tail;
  return `${types.slice(0, head).join(', ')}, … ${skipped} more …, ${types.slice(-tail).join(', ')} (${types.length})`;
}

function validateOccurrence(occurrence: Occurrence): void {
  if (occurrence === 'last' || (Number.isInteger(occurrence) && occurrence >= 1)) return;
  throw new HarnessError('BAD_OPTION', `Connection occurrence ${String(occurrence)} is not a positive integer or 'last'`, {
    fix: "Pass occurrence: 1 for the first connection of the pair, 2 for the reconnection, or 'last'",
  });
}

function validatePair(from: number, to: number): void {
  if (Number.isInteger(from) && Number.isInteger(to) && from >= 0 && to >= 0 && from !== to) return;
  throw new HarnessError('BAD_OPTION', `Connection ${String(from)}→${String(to)} is not a pair of two different node indexes`, {
    fix: 'Pass the dialling node first and the listening node second, e.g. trace.connection(1, 0)',
  });
}

interface StoredEvent {
  event: MessageEvent;
  arrival: number;
}

/**
 * All traced messages of one side of one pair, one group per connection. A group is keyed by the
 * node's process incarnation and the peer id: a restarted bitcoind numbers its peers from 0 again.
 */
interface SideHistory {
  byConnection: Map<string, { incarnation: number; peerId: number; connType: string; events: StoredEvent[] }>;
}

/**
 * Incremental index the Trace keeps: message events grouped by (node, peer node, role, peer id),
 * so a connection query costs the size of that connection, not of the whole trace.
 */
export class ConnectionIndex {
  readonly #sides = new Map<string, SideHistory>();
  /** Per node, when (µs, trace time) each of its processes was spawned, ascending. */
  readonly #spawns = new Map<number, number[]>();

  /** A node's process (re)started at `tUs`: its later events belong to new connections even if peer ids repeat. */
  markIncarnation(node: number, tUs: number): void {
    const spawns = this.#spawns.get(node) ?? [];
    spawns.push(tUs);
    spawns.sort((a, b) => a - b);
    this.#spawns.set(node, spawns);
  }

  #incarnation(node: number, tUs: number): number {
    return (this.#spawns.get(node) ?? []).filter((spawn) => spawn <= tUs).length;
  }

  add(event: MessageEvent, arrival: number): void {
    if (event.peer_node === null) return; // not a harness node: no connection between harness nodes
    const key = sideKey(event.node, event.peer_node, roleOf(event));
    let history = this.#sides.get(key);
    if (!history) {
      history = { byConnection: new Map() };
      this.#sides.set(key, history);
    }
    const incarnation = this.#incarnation(event.node, event.t);
    const groupKey = `${incarnation}:${event.args.peer_id}`;
    let group = history.byConnection.get(groupKey);
    if (!group) {
      group = { incarnation, peerId: event.args.peer_id, connType: event.args.peer_conn_type, events: [] };
      history.byConnection.set(groupKey, group);
    }
    insertInNodeOrder(group.events, { event, arrival });
  }

  /** The k-th connection of a pair; sides not traced (yet) are empty rather than missing. */
  connection(from: number, to: number, occurrence: Occurrence, notes: readonly string[]): ConnectionView {
    validatePair(from, to);
    validateOccurrence(occurrence);
    const dialerIds = this.#peerIds(from, to, 'dialer');
    const listenerIds = this.#peerIds(to, from, 'listener');
    const count = Math.max(dialerIds.length, listenerIds.length);
    const k = occurrence === 'last' ? Math.max(count, 1) : occurrence;
    const dialer = this.#side(from, to, 'dialer', dialerIds[k - 1]);
    const listener = this.#side(to, from, 'listener', listenerIds[k - 1]);
    return {
      from,
      to,
      occurrence: k,
      dialer,
      listener,
      label: `${from}→${to} #${k}`,
      notes: [...notes],
      side: (role) => (role === 'dialer' ? dialer : listener),
    };
  }

  /** Every connection with at least one traced message, ordered by dialer, listener, occurrence. */
  connections(notes: readonly string[]): ConnectionView[] {
    const pairs = new Map<string, [number, number]>();
    for (const key of this.#sides.keys()) {
      const [node, peerNode, role] = parseSideKey(key);
      const pair: [number, number] = role === 'dialer' ? [node, peerNode] : [peerNode, node];
      pairs.set(`${pair[0]}|${pair[1]}`, pair);
    }
    const sorted = [...pairs.values()].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const views: ConnectionView[] = [];
    for (const [from, to] of sorted) {
      const count = Math.max(this.#peerIds(from, to, 'dialer').length, this.#peerIds(to, from, 'listener').length);
      for (let k = 1; k <= count; k++) views.push(this.connection(from, to, k, notes));
    }
    return views;
  }

  /** Connection keys in connection order: by process incarnation, then peer id (Core assigns them increasing per process). */
  #peerIds(node: number, peerNode: number, role: Role): string[] {
    const history = this.#sides.get(sideKey(node, peerNode, role));
    if (!history) return [];
    return [...history.byConnection.entries()]
      .sort(([, a], [, b]) => a.incarnation - b.incarnation || a.peerId - b.peerId)
      .map(([key]) => key);
  }

  #side(node: number, peerNode: number, role: Role, connectionKey: string | undefined): ConnectionSide {
    const group = connectionKey === undefined ? undefined : this.#sides.get(sideKey(node, peerNode, role))?.byConnection.get(connectionKey);
    return makeSide(role, node, peerNode, group?.peerId, group?.connType, group ? group.events.map((s) => s.event) : []);
  }
}

function makeSide(
  role: Role,
  node: number,
  peerNode: number,
  peerId: number | undefined,
  connType: string | undefined,
  events: readonly MessageEvent[],
): ConnectionSide {
  const inDirection = (dir: 'in' | 'out') => events.filter((e) => direction(e) === dir);
  return {
    role,
    node,
    peerNode,
    peerId,
    connType,
    events,
    label: `${laneName(node)} (${role})`,
    sent: () => inDirection('out').map((e) => e.args.msg_type),
    received: () => inDirection('in').map((e) => e.args.msg_type),
    sentEvents: () => inDirection('out'),
    receivedEvents: () => inDirection('in'),
  };
}

/**
 * Keeps a side ordered by the node's own clock: a tracer may deliver one node's events slightly
 * out of order (per-CPU buffers), but `t` comes from one monotonic clock. Nearly always an append.
 */
function insertInNodeOrder(list: StoredEvent[], item: StoredEvent): void {
  let i = list.length;
  while (i > 0 && isAfter(list[i - 1]!, item)) i--;
  list.splice(i, 0, item);
}

function isAfter(a: StoredEvent, b: StoredEvent): boolean {
  return a.event.t > b.event.t || (a.event.t === b.event.t && a.arrival > b.arrival);
}

function sideKey(node: number, peerNode: number, role: Role): string {
  return `${node}|${peerNode}|${role}`;
}

function parseSideKey(key: string): [number, number, Role] {
  const [node, peerNode, role] = key.split('|');
  return [Number(node), Number(peerNode), role as Role];
}
