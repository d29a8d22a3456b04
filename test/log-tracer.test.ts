import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import pRetry from 'p-retry';
import { dir, type DirectoryResult } from 'tmp-promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HarnessError } from '../harness/common/errors.js';
import { isMessageEvent, type MessageEvent, type TraceEvent } from '../tracing/events.js';
import { parseLogLine } from '../tracing/log-parse.js';
import { LOG_TRACER_NODE_ARGS, LogTracer } from '../tracing/log-tracer.js';
import type { EventSink, PeerInfo, ResolvedPeer, TraceTarget } from '../tracing/tracer.js';
import { bitcoindSkipReason, testBinary } from './helpers/bitcoind.js';

// This test runs its own two bitcoind (not the harness's nodes): the test binary `npm test`'s
// set-up provisions (testBinary(): $BITCOIND, PATH, or the cached Knots), so it runs in CI too.
const bitcoindSkip = bitcoindSkipReason();
const binary = bitcoindSkip ? undefined : await testBinary();
const BITCOIND = binary?.path ?? '';

const require = createRequire(import.meta.url);
const RpcClient = require('bitcoin-core') as new (options: Record<string, unknown>) => { command(method: string, ...params: unknown[]): Promise<unknown> };
const noop = (): void => undefined;
const silentLogger = { debug: noop, info: noop, warn: noop, error: noop, trace: noop, fatal: noop, child: () => silentLogger };

interface TestNode {
  index: number;
  datadir: DirectoryResult;
  p2pPort: number;
  rpcPort: number;
  process: ResultPromise;
  rpc: (method: string, ...params: unknown[]) => Promise<unknown>;
  debugLogPath: string;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startNode(index: number, reuse?: TestNode): Promise<TestNode> {
  const datadir = reuse?.datadir ?? (await dir({ unsafeCleanup: true }));
  const p2pPort = reuse?.p2pPort ?? (await freePort());
  const rpcPort = reuse?.rpcPort ?? (await freePort());
  const child = execa(
    BITCOIND,
    [
      `-datadir=${datadir.path}`,
      '-regtest',
      '-listen=1',
      `-bind=127.0.0.1:${p2pPort}`,
      `-rpcport=${rpcPort}`,
      '-rpcbind=127.0.0.1',
      '-rpcallowip=127.0.0.1',
      '-listenonion=0',
      '-dnsseed=0',
      '-fixedseeds=0',
      '-discover=0',
      '-upnp=0',
      '-natpmp=0',
      '-printtoconsole=0',
      ...LOG_TRACER_NODE_ARGS,
    ],
    { reject: false, stdin: 'ignore', stdout: 'ignore', stderr: 'pipe' },
  );
  const exited = child.then((result) => {
    throw new Error(`node ${index} exited during startup (code ${String(result.exitCode)}): ${String(result.stderr)}`);
  });
  exited.catch(noop);
  // The cookie is rewritten at every start, so the client is made once the node is up.
  const ready = pRetry(
    async () => {
      const cookie = readFileSync(join(datadir.path, 'regtest', '.cookie'), 'utf8').trim();
      const [username, password] = cookie.split(':') as [string, string];
      const client = new RpcClient({ host: `http://127.0.0.1:${rpcPort}`, username, password, logger: silentLogger, timeout: 30_000 });
      await client.command('getnetworkinfo'); // fails with -28 until init is done
      return client;
    },
    { retries: 200, minTimeout: 25, maxTimeout: 100, factor: 1.3 },
  );
  const client = await Promise.race([ready, exited]);
  return {
    index,
    datadir,
    p2pPort,
    rpcPort,
    process: child,
    rpc: (method, ...params) => client.command(method, ...params),
    debugLogPath: join(datadir.path, 'regtest', 'debug.log'),
  };
}

async function stopNode(node: TestNode): Promise<void> {
  if (node.process.exitCode !== null) return;
  await node.rpc('stop').catch(noop);
  const killer = setTimeout(() => node.process.kill('SIGKILL'), 20_000);
  await node.process;
  clearTimeout(killer);
}

/** Collects events; `until` resolves on the push that satisfies a predicate (no polling). */
class CollectingSink implements EventSink {
  readonly events: MessageEvent[] = [];
  /** closed_connection / misbehaving_connection events, kept apart so message orders stay simple. */
  readonly connectionEvents: TraceEvent[] = [];
  readonly failures: HarnessError[] = [];
  private waiters: Array<{ done: (events: MessageEvent[]) => boolean; resolve: () => void }> = [];

  push(event: TraceEvent): void {
    if (!isMessageEvent(event)) {
      this.connectionEvents.push(event);
      return;
    }
    this.events.push(event);
    this.waiters = this.waiters.filter((w) => (w.done(this.events) ? (w.resolve(), false) : true));
  }
  fail(error: HarnessError): void {
    this.failures.push(error);
  }
  until(what: string, done: (events: MessageEvent[]) => boolean, timeoutMs = 20_000): Promise<void> {
    if (done(this.events)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms; events: ${this.events.map(label).join(', ')}`)), timeoutMs);
      this.waiters.push({ done, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }
}

function label(event: MessageEvent): string {
  return `${event.node}${event.tracepoint === 'net:outbound_message' ? '→' : '←'}${event.args.msg_type}`;
}

const received = (node: number, msgType: string, peerId?: number) => (events: MessageEvent[]) =>
  events.some((e) => e.node === node && e.tracepoint === 'net:inbound_message' && e.args.msg_type === msgType && (peerId === undefined || e.args.peer_id === peerId));

const HANDSHAKE = ['version', 'wtxidrelay', 'sendaddrv2', 'verack'];

function types(events: MessageEvent[], node: number, tracepoint: MessageEvent['tracepoint'], peerId: number): string[] {
  return events.filter((e) => e.node === node && e.tracepoint === tracepoint && e.args.peer_id === peerId).map((e) => e.args.msg_type);
}

describe.skipIf(bitcoindSkip)(`LogTracer on two real bitcoind${bitcoindSkip ? ` (skipped: ${bitcoindSkip})` : ''}`, () => {
  const nodes: TestNode[] = [];
  const peerInfoCalls = new Map<string, number>();
  let tracer: LogTracer | undefined;
  const sink = new CollectingSink();
  let startedAtNs = 0n;

  const resolved = new Map<string, Promise<ResolvedPeer | undefined>>();

  async function lookUp(node: TestNode, peerId: number): Promise<ResolvedPeer | undefined> {
    const peer = ((await node.rpc('getpeerinfo')) as PeerInfo[]).find((p) => p.id === peerId);
    if (!peer) return undefined;
    // The dialer sees the listener's port; the listener sees the dialer's local address (its addrbind).
    if (!peer.inbound) return { info: peer, peerNode: nodes.find((n) => peer.addr === `127.0.0.1:${n.p2pPort}`)?.index ?? null };
    for (const other of nodes) {
      if (other === node) continue;
      const theirs = (await other.rpc('getpeerinfo')) as PeerInfo[];
      if (theirs.some((p) => p.addrbind === peer.addr)) return { info: peer, peerNode: other.index };
    }
    return { info: peer, peerNode: null };
  }

  function target(node: TestNode): TraceTarget {
    return {
      index: node.index,
      pid: node.process.pid!,
      debugLogPath: node.debugLogPath,
      elfPath: binary!.elfPath,
      // Cached per (process, peer) like the network's PeerDirectory; the counter counts real getpeerinfo lookups.
      resolvePeer(peerId: number): Promise<ResolvedPeer | undefined> {
        const key = `${node.index}:${node.process.pid}:${peerId}`;
        let found = resolved.get(key);
        if (!found) {
          peerInfoCalls.set(key, (peerInfoCalls.get(key) ?? 0) + 1);
          found = lookUp(node, peerId);
          resolved.set(key, found);
        }
        return found;
      },
    };
  }

  beforeAll(async () => {
    try {
      nodes.push(...(await Promise.all([startNode(0), startNode(1)])));
    } catch (error) {
      await Promise.allSettled(nodes.map(stopNode));
      throw error;
    }
    startedAtNs = process.hrtime.bigint();
    tracer = new LogTracer();
    await tracer.attach(nodes.map(target), sink, startedAtNs);
  });

  afterAll(async () => {
    await tracer?.detach();
    await Promise.allSettled(nodes.map(stopNode));
    await Promise.allSettled(nodes.map((n) => n.datadir.cleanup()));
  });

  it('traces the handshake in both directions with peers resolved to harness nodes', async () => {
    const [node0, node1] = nodes as [TestNode, TestNode];
    await node1.rpc('addnode', `127.0.0.1:${node0.p2pPort}`, 'onetry');
    await sink.until('verack on both sides', (events) => received(0, 'verack')(events) && received(1, 'verack')(events));
    const events = sink.events;

    // Node 1 dialled node 0: its peer is node 0, a manual connection to node 0's listening port.
    expect(types(events, 1, 'net:outbound_message', 0).slice(0, 4)).toEqual(HANDSHAKE);
    expect(types(events, 1, 'net:inbound_message', 0).slice(0, 4)).toEqual(HANDSHAKE);
    expect(types(events, 0, 'net:inbound_message', 0).slice(0, 4)).toEqual(HANDSHAKE);
    expect(types(events, 0, 'net:outbound_message', 0).slice(0, 4)).toEqual(HANDSHAKE);
    for (const e of events.filter((e) => e.node === 1)) {
      expect(e).toMatchObject({ source: 'log', peer_node: 0, args: { peer_addr: `127.0.0.1:${node0.p2pPort}`, peer_conn_type: 'manual' } });
    }
    for (const e of events.filter((e) => e.node === 0)) {
      expect(e).toMatchObject({ source: 'log', peer_node: 1, args: { peer_conn_type: 'inbound' } });
      expect(e.args.peer_addr).toMatch(/^127\.0\.0\.1:\d+$/);
    }

    // The two logs agree: what one side sent, the other received, with the same payload size.
    const sentVersion = events.find((e) => e.node === 1 && e.tracepoint === 'net:outbound_message' && e.args.msg_type === 'version')!;
    const gotVersion = events.find((e) => e.node === 0 && e.tracepoint === 'net:inbound_message' && e.args.msg_type === 'version')!;
    expect(gotVersion.args.msg_size).toBe(sentVersion.args.msg_size);
    // Both logs share the wall clock: a message is received after it was sent, and after the network started.
    expect(gotVersion.t).toBeGreaterThanOrEqual(sentVersion.t);
    expect(sentVersion.t).toBeGreaterThan(0);
    expect(gotVersion.t).toBeLessThanOrEqual(Number((process.hrtime.bigint() - startedAtNs) / 1000n));
  });

  it('delivers each node’s events in log order and asks for a peer once, not per message', async () => {
    const [node0, node1] = nodes as [TestNode, TestNode];
    // Something after the handshake, so the check covers more than a burst: node 1 mines, node 0 fetches.
    await node1.rpc('generatetodescriptor', 1, 'raw(51)'); // anyone-can-spend output: no wallet needed
    await sink.until('the block on node 0', received(0, 'block'));
    for (const node of [node0, node1]) {
      const inLog = readFileSync(node.debugLogPath, 'utf8')
        .split('\n')
        .map(parseLogLine)
        .flatMap((r) => (r?.kind === 'message' ? [`${r.tracepoint} ${r.msgType} ${r.peerId}`] : []));
      const delivered = sink.events.filter((e) => e.node === node.index).map((e) => `${e.tracepoint} ${e.args.msg_type} ${e.args.peer_id}`);
      expect(inLog.slice(0, delivered.length)).toEqual(delivered);
      const ts = sink.events.filter((e) => e.node === node.index).map((e) => e.t);
      expect(ts).toEqual([...ts].sort((a, b) => a - b));
    }
    expect(Object.fromEntries(peerInfoCalls)).toEqual({ [`0:${node0.process.pid}:0`]: 1, [`1:${node1.process.pid}:0`]: 1 });
    expect(sink.failures).toEqual([]);
  });

  it('follows a restarted node from where it was: no replay, and the new process’s peers looked up anew', async () => {
    const old1 = nodes[1]!;
    await stopNode(old1);
    const new1 = await startNode(1, old1);
    nodes[1] = new1;
    await tracer!.addTarget(target(new1));
    const before = sink.events.length;

    await new1.rpc('addnode', `127.0.0.1:${nodes[0]!.p2pPort}`, 'onetry');
    // Node 0 sees the new connection as peer 1; the new node 1 process numbers it 0 again.
    await sink.until('verack on both sides after the restart', (events) => received(0, 'verack', 1)(events) && received(1, 'verack')(events.slice(before)));
    const after = sink.events.slice(before);
    expect(types(after, 1, 'net:outbound_message', 0).slice(0, 4)).toEqual(HANDSHAKE);
    expect(types(after, 0, 'net:inbound_message', 1).slice(0, 4)).toEqual(HANDSHAKE);
    // Exactly one `version` sent per node-1 process: the old process's lines were not replayed.
    expect(sink.events.filter((e) => e.node === 1 && e.tracepoint === 'net:outbound_message' && e.args.msg_type === 'version')).toHaveLength(2);
    for (const e of after.filter((e) => e.node === 1)) expect(e).toMatchObject({ peer_node: 0, args: { peer_conn_type: 'manual' } });
    for (const e of after.filter((e) => e.node === 0 && e.args.peer_id === 1)) expect(e.peer_node).toBe(1);
    expect(peerInfoCalls.get(`1:${new1.process.pid}:0`)).toBe(1);
    // The stop closed node 0's first connection: its `Resetting socket for peer=0` line is a
    // closed_connection event, filled from the lookup made on the peer's first message.
    const closed = sink.connectionEvents.find((e) => e.node === 0 && e.tracepoint === 'net:closed_connection' && e.args.peer_id === 0);
    expect(closed).toMatchObject({ source: 'log', peer_node: 1, args: { peer_conn_type: 'inbound', peer_network: 0 } });
    expect(closed!.t).toBeGreaterThan(Math.max(...sink.events.filter((e) => e.node === 0 && e.args.peer_id === 0).map((e) => e.t)));

    await tracer!.detach();
    const diagnostics = tracer!.diagnostics();
    expect(diagnostics).toContain('2 debug.log file(s) followed');
    expect(diagnostics).toMatch(/node 1 .* 0 net lines not understood, \d+ peer lookups \(0 failed\), 1 restarts seen/);
    expect(sink.failures).toEqual([]);
  });
});
