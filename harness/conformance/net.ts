/**
 * The net: tracepoints against getpeerinfo and getnetworkinfo. Messages: every traced message's
 * peer (id, address, connection type) is a getpeerinfo entry of that node; each connection starts
 * with `version`, whose size is getpeerinfo's bytes per message less the 24-byte v1 header and
 * whose payload carries the sender's protocol version, services, user agent and height. The
 * connection tracepoints (v29+): id, address, type, network and the direction's connection count
 * from getpeerinfo right after the connection; time_established is getpeerinfo's conntime; the
 * misbehaving message is the one the node logs; eviction comes from more inbound sockets than
 * -maxconnections leaves room for.
 */
import { createConnection, type Socket } from 'node:net';
import { readFile } from 'node:fs/promises';
import type { TraceEvent } from '../../tracing/events.js';
import type { ConformanceContext } from './context.js';
import { NETWORK_ENUM } from './check.js';
import { call } from './core-rpc.js';
import { waitUntil } from '../common/wait.js';
import { abortable, budget } from '../common/timing.js';

/** The v1 P2P header getpeerinfo's per-message byte counts include (magic, command, length, checksum). */
const V1_HEADER_BYTES = 24;
/** -maxconnections for node 0: 32 − 11 automatic outbound slots (8 full-relay, 2 block-relay, 1 feeler) = 21 inbound. */
export const MAX_CONNECTIONS = 32;
const MAX_INBOUND = MAX_CONNECTIONS - 11;

export interface SenderTruth {
  protocolVersion: number;
  /** getnetworkinfo localservices, 16 hex digits. */
  services: string;
  userAgent: string;
  height: number;
}

export interface NetTruth {
  /** Per node, what its version message must carry (first handshake). */
  senders: Map<number, SenderTruth>;
  misbehaving?: { node: number; peerId: number; message: string | undefined };
  /** Inbound sockets the suite opened to node 0: their address on node 0 and when they connected. */
  sockets: Socket[];
  evicted?: { triggeredBy: string };
  /** Trace time (µs) until which version messages carry `senders` (node 0 restarts after it). */
  sendersUntil: number;
  /** Addresses whose inbound_connection count is only known within a range (the trigger races the eviction). */
  looseCounts: Set<string>;
}

export function newNetTruth(): NetTruth {
  return { senders: new Map(), sockets: [], looseCounts: new Set(), sendersUntil: Number.POSITIVE_INFINITY };
}

/** Right after the network's first handshake: both nodes' peers and what their version carried. */
export async function recordHandshake(ctx: ConformanceContext, truth: NetTruth): Promise<void> {
  for (const node of [0, 1]) {
    const rpc = ctx.rpc(node);
    const info = await call<{ protocolversion: number; localservices: string; subversion: string }>(rpc, 'getnetworkinfo');
    truth.senders.set(node, { protocolVersion: info.protocolversion, services: info.localservices, userAgent: info.subversion, height: await call<number>(rpc, 'getblockcount') });
    await ctx.book.snapshot(rpc, node);
  }
}

/** Both nodes' peers again (after a restart and its new handshake). */
export async function snapshotPeers(ctx: ConformanceContext): Promise<void> {
  for (const node of ctx.network.nodes) if (node.running) await ctx.book.snapshot(node.rpc, node.index);
}

/** One header on top of `prevHash` with nBits 0 (no proof of work can meet it), as a `headers` payload. */
function invalidPowHeaders(prevHash: string, time: number): Buffer {
  const payload = Buffer.alloc(1 + 80 + 1);
  payload[0] = 1;
  payload.writeInt32LE(0x20000000, 1);
  Buffer.from(prevHash, 'hex').reverse().copy(payload, 5);
  payload.writeUInt32LE(time, 69);
  return payload; // nBits, nonce and the tx count stay 0
}

/** Node 1 sends node 0 a header with invalid proof of work (sendmsgtopeer, v26+); node 0 punishes and drops it. */
export async function misbehave(ctx: ConformanceContext, truth: NetTruth): Promise<void> {
  await snapshotPeers(ctx);
  const toNode0 = (await call<{ id: number; addr: string; inbound: boolean; addrbind?: string }[]>(ctx.rpc(1), 'getpeerinfo')).find((p) => !p.inbound && p.addr === ctx.network.node(0).p2pAddress);
  const onNode0 = (await call<{ id: number; addr: string; inbound: boolean }[]>(ctx.rpc(0), 'getpeerinfo')).find((p) => p.inbound && p.addr === toNode0?.addrbind);
  if (!toNode0 || !onNode0) throw new Error('node 1 is not connected to node 0');
  const logBefore = (await readFile(ctx.network.node(0).debugLogPath, 'utf8')).length;
  const tip = await call<string>(ctx.rpc(1), 'getbestblockhash');
  await call(ctx.rpc(1), 'sendmsgtopeer', toNode0.id, 'headers', invalidPowHeaders(tip, Math.floor(Date.now() / 1000)).toString('hex'));
  await ctx.waitFor('net:misbehaving_connection', (e) => e.node === 0 && e.args.peer_id === onNode0.id, 'node 0 to trace node 1 misbehaving');
  await ctx.waitFor('net:closed_connection', (e) => e.node === 0 && e.args.peer_id === onNode0.id, 'node 0 to close the misbehaving peer');
  // closed_connection fires when the socket closes (CNode::CloseSocketDisconnect), which can come
  // before the node leaves m_nodes: until it has, Core still counts it in the next connection's
  // existing_connections while getpeerinfo, read a moment later, no longer does.
  await waitUntil(async () => !(await call<{ id: number }[]>(ctx.rpc(0), 'getpeerinfo')).some((p) => p.id === onNode0.id), {
    timeoutMs: budget(ctx.timing, 'event'),
    description: 'node 0 to drop the misbehaving peer from its peer list',
    ...abortable(ctx.timing),
  });
  const log = (await readFile(ctx.network.node(0).debugLogPath, 'utf8')).slice(logBefore);
  const line = new RegExp(`Misbehaving: peer=${onNode0.id}: (.*)$`, 'm').exec(log);
  truth.misbehaving = { node: 0, peerId: onNode0.id, message: line?.[1]?.trim() };
}

function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.on('error', () => undefined); // node 0 closes evicted sockets: not an error here
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/**
 * Fill node 0's inbound slots with silent TCP connections, one at a time (each one's
 * inbound_connection awaited, then getpeerinfo read: the exact count), then one more: every
 * candidate is protected by Core's eviction rules except one, which is evicted.
 */
export async function evict(ctx: ConformanceContext, truth: NetTruth): Promise<void> {
  const node0 = ctx.network.node(0);
  const port = node0.p2pPort;
  const inbound = async () => (await ctx.book.snapshot(node0.rpc, 0)).filter((p) => p.inbound).length;
  let count = await inbound();
  while (count < MAX_INBOUND) {
    const socket = await openSocket(port);
    truth.sockets.push(socket);
    const addr = `127.0.0.1:${socket.localPort}`;
    await ctx.waitFor('net:inbound_connection', (e) => e.node === 0 && e.args.peer_addr === addr, `node 0 to accept ${addr}`);
    count = await inbound();
  }
  const trigger = await openSocket(port);
  truth.sockets.push(trigger);
  const addr = `127.0.0.1:${trigger.localPort}`;
  truth.looseCounts.add(addr);
  truth.evicted = { triggeredBy: addr };
  await ctx.waitFor('net:evicted_inbound_connection', (e) => e.node === 0, 'node 0 to evict an inbound peer');
  await ctx.waitFor('net:inbound_connection', (e) => e.node === 0 && e.args.peer_addr === addr, `node 0 to accept ${addr} after the eviction`);
  await ctx.book.snapshot(node0.rpc, 0);
}

type ConnectionEvent = TraceEvent<'net:inbound_connection' | 'net:outbound_connection' | 'net:evicted_inbound_connection' | 'net:closed_connection'>;

function verifyConnection(ctx: ConformanceContext, truth: NetTruth, event: ConnectionEvent): void {
  const check = ctx.check(event.tracepoint)!;
  const peer = ctx.book.find(event.node, event.args.peer_id, event.args.peer_addr);
  if (!peer) {
    check.equal('peer_id', 'a getpeerinfo entry', `${event.args.peer_id} ${event.args.peer_addr}`, `node ${event.node}`);
    return;
  }
  const about = `getpeerinfo of node ${event.node}`;
  check.equal('peer_id', peer.info.id, event.args.peer_id, about);
  check.equal('peer_addr', peer.info.addr, event.args.peer_addr, about);
  check.equal('peer_conn_type', peer.info.connection_type, event.args.peer_conn_type, about);
  check.equal('peer_network', NETWORK_ENUM[peer.info.network ?? ''], event.args.peer_network, `${about}: network ${peer.info.network}`);
  if (event.tracepoint === 'net:inbound_connection' || event.tracepoint === 'net:outbound_connection') {
    const existing = event.args.existing_connections;
    if (truth.looseCounts.has(peer.info.addr)) check.within('existing_connections', MAX_INBOUND - 1, MAX_INBOUND + 1, existing, 'the eviction races this connection');
    else check.equal('existing_connections', peer.existing, existing, `${about} right after this connection`);
  } else {
    check.equal('time_established', peer.info.conntime, event.args.time_established, `${about}: conntime`);
  }
}

function verifyVersionMessage(ctx: ConformanceContext, truth: NetTruth, event: TraceEvent<'net:inbound_message' | 'net:outbound_message'>, senderNode: number | null, sizeFromBook: number | undefined): void {
  const check = ctx.check(event.tracepoint)!;
  if (sizeFromBook !== undefined) check.equal('msg_size', sizeFromBook - V1_HEADER_BYTES, event.args.msg_size, `getpeerinfo bytes per version message − ${V1_HEADER_BYTES}`);
  const sender = senderNode === null ? undefined : truth.senders.get(senderNode);
  if (!sender || !event.args.msg) return;
  const payload = Buffer.from(event.args.msg, 'hex');
  if (payload.length < 81) {
    check.equal('msg', `≥ 81 bytes`, `${payload.length} bytes`);
    return;
  }
  check.equal('msg', sender.protocolVersion, payload.readInt32LE(0), `protocol version of node ${senderNode} (getnetworkinfo)`);
  check.equal('msg', sender.services, payload.readBigUInt64LE(4).toString(16).padStart(16, '0'), `services of node ${senderNode} (getnetworkinfo localservices)`);
  const uaLength = payload[80]!;
  check.equal('msg', sender.userAgent, payload.subarray(81, 81 + uaLength).toString('utf8'), `user agent of node ${senderNode} (getnetworkinfo subversion)`);
  if (payload.length >= 81 + uaLength + 4) check.equal('msg', sender.height, payload.readInt32LE(81 + uaLength), `start height of node ${senderNode}`);
}

export function verifyNet(ctx: ConformanceContext, truth: NetTruth): void {
  for (const name of ['net:inbound_message', 'net:outbound_message'] as const) {
    const check = ctx.check(name);
    if (!check) continue;
    const events = ctx.events(name);
    check.fired = events.length;
    const firstOf = new Set<string>();
    for (const event of events) {
      const peer = ctx.book.find(event.node, event.args.peer_id, event.args.peer_addr);
      if (!peer) {
        check.equal('peer_id', 'a getpeerinfo entry', `${event.args.peer_id} ${event.args.peer_addr}`, `node ${event.node}`);
        continue;
      }
      check.equal('peer_id', peer.info.id, event.args.peer_id);
      check.equal('peer_addr', peer.info.addr, event.args.peer_addr, `getpeerinfo of node ${event.node}`);
      check.equal('peer_conn_type', peer.info.connection_type, event.args.peer_conn_type, `getpeerinfo of node ${event.node}`);
      const key = `${event.node}:${event.args.peer_id}:${event.args.peer_addr}`;
      if (firstOf.has(key)) continue;
      firstOf.add(key);
      // Core sends `version` first on every connection, and processes nothing before it.
      if (!check.equal('msg_type', 'version', event.args.msg_type, 'first message of a connection')) continue;
      const perMsg = name === 'net:outbound_message' ? peer.info.bytessent_per_msg : peer.info.bytesrecv_per_msg;
      const sender = name === 'net:outbound_message' ? event.node : event.peer_node;
      // The senders' facts (height above all) are those of the first handshake.
      verifyVersionMessage(ctx, truth, event, event.t < truth.sendersUntil ? sender : null, perMsg?.version);
    }
  }

  for (const name of ['net:inbound_connection', 'net:outbound_connection', 'net:evicted_inbound_connection', 'net:closed_connection'] as const) {
    const check = ctx.check(name);
    if (!check) continue;
    const events = ctx.events(name);
    check.fired = events.length;
    if (events.length === 0) check.missing('peer_id', name === 'net:evicted_inbound_connection' ? `on node 0 with ${MAX_INBOUND + 1} inbound connections for ${MAX_INBOUND} slots` : 'for the connections the suite made');
    for (const event of events) verifyConnection(ctx, truth, event);
  }

  const misbehaving = ctx.check('net:misbehaving_connection');
  if (misbehaving) {
    const events = ctx.events('net:misbehaving_connection');
    misbehaving.fired = events.length;
    const expected = truth.misbehaving;
    const event = expected && events.find((e) => e.node === expected.node && e.args.peer_id === expected.peerId);
    if (!expected || !event) misbehaving.missing('peer_id', 'on node 0 for node 1, which sent a header with invalid proof of work');
    else {
      misbehaving.equal('peer_id', expected.peerId, event.args.peer_id, 'getpeerinfo of node 0');
      misbehaving.equal('message', expected.message, event.args.message, "node 0's debug.log 'Misbehaving: peer=…: <message>'");
    }
  }
}
