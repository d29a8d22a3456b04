/**
 * The real Core v29 two-node trace (test/fixtures/core-v29-two-nodes.ndjson) as harness events:
 * node 1 dialled node 0 with `addnode … onetry`, then wallet, mining and tx relay.
 * Format of the fixture: /work/shared/data/README.md (copied here so tests don't need ../shared).
 */
import { readFileSync } from 'node:fs';
import type { MessageEvent } from '../../tracing/events.js';

const FIXTURE_URL = new URL('../fixtures/core-v29-two-nodes.ndjson', import.meta.url);

interface FixtureLine {
  node: number;
  dir: 'IN' | 'OUT';
  peer_id: number;
  peer_addr: string;
  peer_conn_type: string;
  msg_type: string;
  msg_size: number;
  payload_hex: string;
  t_us: number;
}

/** Every fixture line as a MessageEvent, in file (arrival) order. */
export function loadFixtureTrace(): MessageEvent[] {
  const lines = readFileSync(FIXTURE_URL, 'utf8').split('\n').filter((line) => line.trim() !== '');
  return lines.map((line, i) => toEvent(parseLine(line, i + 1)));
}

function parseLine(line: string, lineNumber: number): FixtureLine {
  const raw = JSON.parse(line) as Partial<FixtureLine>;
  const numbers = ['node', 'peer_id', 'msg_size', 't_us'] as const;
  const strings = ['peer_addr', 'peer_conn_type', 'msg_type', 'payload_hex'] as const;
  const bad = [
    ...numbers.filter((k) => typeof raw[k] !== 'number'),
    ...strings.filter((k) => typeof raw[k] !== 'string'),
    ...(raw.dir === 'IN' || raw.dir === 'OUT' ? [] : ['dir']),
  ];
  if (bad.length > 0) throw new Error(`${FIXTURE_URL.pathname}:${lineNumber}: missing or mistyped ${bad.join(', ')}`);
  return raw as FixtureLine;
}

function toEvent(line: FixtureLine): MessageEvent {
  return {
    tracepoint: line.dir === 'IN' ? 'net:inbound_message' : 'net:outbound_message',
    t: line.t_us,
    node: line.node,
    peer_node: line.node === 0 ? 1 : 0, // two nodes, each other's only peer
    source: 'usdt',
    args: {
      peer_id: line.peer_id,
      peer_addr: line.peer_addr,
      peer_conn_type: line.peer_conn_type,
      msg_type: line.msg_type,
      msg_size: line.msg_size,
      msg: line.payload_hex,
      msg_captured: line.payload_hex.length / 2,
    },
  };
}
