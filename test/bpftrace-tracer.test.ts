/**
 * UsdtTracer and the session pool on the USDT emitter (real bpftrace, real uprobes): events for the
 * right nodes in per-node order, one shared bpftrace per binary, and loss that is always reported.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isHarnessError } from '../harness/common/errors.js';
import type { PeerInfo, ResolvedPeer, TraceTarget } from '../tracing/tracer.js';
import { SessionPool } from '../tracing/bpftrace/pool.js';
import { UsdtTracer } from '../tracing/bpftrace/usdt-tracer.js';
import { usdtReadiness } from '../harness/doctor/tracer-decision.js';
import { buildEmitter, Emitter, emitterSkipReason, ourBpftracePids } from './helpers/emitter.js';
import { ListSink } from './helpers/list-sink.js';

const skip = emitterSkipReason();

/** A target for an emitter: peer ids map to "node = peer_id % 10", looked up with a random delay. */
function targetFor(emitter: Emitter, elfPath: string, index: number, lookups: number[] = [], maxDelayMs = 10): TraceTarget {
  return {
    index,
    pid: emitter.pid,
    debugLogPath: '/dev/null',
    elfPath,
    async resolvePeer(peerId): Promise<ResolvedPeer | undefined> {
      lookups.push(peerId);
      if (maxDelayMs > 0) await new Promise((r) => setTimeout(r, Math.random() * maxDelayMs));
      if (peerId < 0) return undefined;
      const info: PeerInfo = { id: peerId, addr: `127.0.0.1:${18444 + (peerId % 10)}`, connection_type: 'manual', inbound: false };
      return { info, peerNode: Number(info.addr.split(':')[1]) - 18444 };
    },
  };
}

const message = (peer_id: number) => ({
  peer_id,
  peer_addr: '127.0.0.1:18444',
  peer_conn_type: 'manual',
  msg_type: 'ping',
  msg_size: 8,
  msg: '0102030405060708',
});

describe.skipIf(skip)('UsdtTracer on the USDT emitter', () => {
  let elfPath: string;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    elfPath = await buildEmitter('tracer-test');
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    expect(ourBpftracePids()).toEqual([]);
  });

  async function emitter(): Promise<Emitter> {
    const e = await Emitter.start(elfPath);
    cleanups.push(() => e.stop());
    return e;
  }

  function pool(options: ConstructorParameters<typeof SessionPool>[0] = {}): SessionPool {
    const p = new SessionPool(options);
    // Stopping does not wait for the kernel's uprobe detach; the leak check after each test does.
    cleanups.push(() => p.shutdown().then(() => p.waitForExit()));
    return p;
  }

  it('reports the emitter as traceable', async () => {
    expect(await usdtReadiness(elfPath)).toMatchObject({ ok: true });
    expect(await usdtReadiness('/bin/true')).toMatchObject({ ok: false, reason: expect.stringContaining('USDT') });
  });

  it('a prepare given up on (Ctrl-C) rejects with the reason at once, and the session nobody wants stops once it is live', async () => {
    const p = pool();
    const spawnedPids: number[] = [];
    const tracer = new UsdtTracer({ pool: p });
    const controller = new AbortController();
    const reason = new Error('interrupted');
    const preparing = tracer.prepare([elfPath], {
      spawned: () => {
        spawnedPids.push(...ourBpftracePids());
        controller.abort(reason); // while bpftrace attaches
      },
      signal: controller.signal,
    });
    await expect(preparing).rejects.toBe(reason);
    expect(spawnedPids).toHaveLength(1);
    // Still attaching: the session is stopped once its start completes, not left running
    // (a process's absence has no event to wait on).
    await expect.poll(() => ourBpftracePids(), { timeout: 15_000 }).toEqual([]);
    await expect(tracer.prepare([elfPath], { signal: controller.signal })).rejects.toBe(reason);
  });

  it('prepared before a process exists: its first probes wait and are delivered in order once it becomes a target', async () => {
    const sink = new ListSink();
    const tracer = new UsdtTracer({ pool: pool() });
    const startedAtNs = process.hrtime.bigint();
    await tracer.prepare([elfPath]); // live before the "node" is spawned, as Network does for startup connections
    cleanups.push(() => tracer.detach());
    const early = await emitter();
    const other = await emitter(); // another network's process on the same binary: never ours
    for (let k = 0; k < 5; k++) await early.fire('net:outbound_message', message(k));
    await other.fire('net:outbound_message', message(7));
    await tracer.attach([targetFor(early, elfPath, 0)], sink, startedAtNs);
    await early.fire('net:outbound_message', message(5));
    await sink.until(() => sink.events.length === 6);
    await tracer.detach();
    expect(sink.events.map((e) => (e.args as { peer_id: number }).peer_id)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(sink.events.every((e) => e.node === 0)).toBe(true);
    expect(sink.errors).toEqual([]);
  });

  it('delivers TraceEvents per node, in firing order, although peer lookups finish out of order', async () => {
    const [a, b] = [await emitter(), await emitter()];
    const lookups: number[] = [];
    const sink = new ListSink();
    const tracer = new UsdtTracer({ pool: pool(), extraTracepoints: ['net:misbehaving_connection'] });
    const startedAtNs = process.hrtime.bigint();
    await tracer.attach([targetFor(a, elfPath, 0, lookups), targetFor(b, elfPath, 1, lookups)], sink, startedAtNs);
    cleanups.push(() => tracer.detach());

    // Peer ids cycle over 3 peers so lookups (random delays) finish out of order.
    for (let k = 0; k < 30; k++) await (k % 2 ? b : a).fire('net:outbound_message', message(k % 3));
    await a.fire('net:misbehaving_connection', { peer_id: -1, message: 'gone' });
    await sink.until(() => sink.events.length === 31);
    await tracer.detach();

    const ofNode = (node: number) => sink.events.filter((e) => e.node === node);
    expect(ofNode(0).map((e) => e.tracepoint).at(-1)).toBe('net:misbehaving_connection');
    const peers = (node: number) => ofNode(node).filter((e) => e.tracepoint === 'net:outbound_message').map((e) => (e.args as { peer_id: number }).peer_id);
    expect(peers(0)).toEqual(Array.from({ length: 15 }, (_, j) => (2 * j) % 3));
    expect(peers(1)).toEqual(Array.from({ length: 15 }, (_, j) => (2 * j + 1) % 3));
    for (const event of sink.events) {
      const peerId = (event.args as { peer_id: number }).peer_id;
      expect(event.peer_node).toBe(peerId < 0 ? null : peerId % 10);
      expect(event.source).toBe('usdt');
    }
    const times = ofNode(0).map((e) => e.t);
    expect(times[0]).toBeGreaterThan(0);
    expect([...times].sort((x, y) => x - y)).toEqual(times);
    // The tracer keeps no peer cache of its own (the network's PeerDirectory does): one ask per event.
    expect(lookups.length).toBe(31);
    expect(sink.errors).toEqual([]);
  });

  it('shares one bpftrace per binary between tracers and stops it when the last one detaches', async () => {
    const shared = pool();
    const [a, b] = [await emitter(), await emitter()];
    const sinks = [new ListSink(), new ListSink()];
    const tracers = [new UsdtTracer({ pool: shared }), new UsdtTracer({ pool: shared })];
    await tracers[0]!.attach([targetFor(a, elfPath, 0)], sinks[0]!, process.hrtime.bigint());
    await tracers[1]!.attach([targetFor(b, elfPath, 0)], sinks[1]!, process.hrtime.bigint());
    expect(shared.size).toBe(1);
    expect(ourBpftracePids()).toHaveLength(1);

    await a.fire('net:outbound_message', message(1));
    await b.fire('net:outbound_message', message(2));
    await sinks[0]!.until(() => sinks[0]!.events.length === 1);
    await sinks[1]!.until(() => sinks[1]!.events.length === 1);
    expect((sinks[0]!.events[0]!.args as { peer_id: number }).peer_id).toBe(1);
    expect((sinks[1]!.events[0]!.args as { peer_id: number }).peer_id).toBe(2);

    await tracers[0]!.detach();
    expect(ourBpftracePids()).toHaveLength(1);
    await tracers[1]!.detach();
    expect(shared.size).toBe(0);
    await shared.waitForExit();
    expect(ourBpftracePids()).toEqual([]);
  });

  it('keep-alive: a released session serves the next tracer without a new attach; shutdown stops it', async () => {
    const kept = pool({ keepAliveMs: 60_000 });
    const e = await emitter();
    const first = new UsdtTracer({ pool: kept });
    await first.attach([targetFor(e, elfPath, 0)], new ListSink(), process.hrtime.bigint());
    const bpftrace = ourBpftracePids();
    await first.detach();
    expect(ourBpftracePids()).toEqual(bpftrace); // still running, idle

    const sink = new ListSink();
    const second = new UsdtTracer({ pool: kept });
    await second.attach([targetFor(e, elfPath, 3)], sink, process.hrtime.bigint());
    expect(ourBpftracePids()).toEqual(bpftrace); // the same process, no second attach
    await e.fire('net:outbound_message', message(4));
    await sink.until(() => sink.events.length === 1);
    expect(sink.events[0]!.node).toBe(3);
    await second.detach();
    await kept.shutdown();
    await kept.waitForExit();
    expect(ourBpftracePids()).toEqual([]);
  });

  it('a 100k-event burst: received + reported lost == fired, and loss fails the sink with TRACE_EVENTS_LOST', async () => {
    const e = await emitter();
    // One 4 KiB page per CPU and full payload capture: the ring must overflow.
    const small = pool({ perfRingPages: 1 });
    const sink = new ListSink();
    const tracer = new UsdtTracer({ pool: small, tracepoints: ['net:inbound_message'] });
    // The burst gives every hit its own peer id: no lookup delay, or delivery would take minutes.
    await tracer.attach([targetFor(e, elfPath, 0, [], 0)], sink, process.hrtime.bigint());
    cleanups.push(() => tracer.detach());
    // A second lease on the same request shares the tracer's session: its counters are ours to read.
    const lease = await small.acquire({ elfPath, tracepoints: ['net:inbound_message'] }, { record() {}, lost() {}, failed() {} });
    cleanups.push(() => lease.release());
    expect(lease.bpftracePid()).toBe(ourBpftracePids()[0]);
    // One line per hit in one-body mode (bpftrace >= 0.20), one per part on bpftrace 0.17 (program.ts).
    const recordsPerHit = lease.program.oneBody ? 1 : lease.program.layouts.get('net:inbound_message')!.bodies.length;

    const fired = await e.burst('net:inbound_message', 100_000, 250);
    expect(fired).toBe(100_000);
    expect(await lease.sync()).toBe(true);
    // After the flush barrier every record is accounted for: read, or reported lost by bpftrace.
    // The lost count may also hold a few BTFLUSH records (of `kill` commands, ours or anyone's)
    // that met the full ring: they share it with the hits.
    const stats = lease.stats();
    expect(stats.receivedRecords + stats.lostRecords).toBeGreaterThanOrEqual(fired * recordsPerHit);
    expect(stats.receivedRecords + stats.lostRecords).toBeLessThanOrEqual(fired * recordsPerHit + 16);
    expect(stats.lostRecords).toBeGreaterThan(0);
    expect(stats.completeHits).toBeLessThan(fired);
    expect(stats.completeHits + stats.incompleteHits).toBeLessThanOrEqual(fired);
    await sink.until(() => sink.events.length === stats.completeHits);
    const lost = sink.errors.filter((err) => isHarnessError(err, 'TRACE_EVENTS_LOST'));
    expect(lost.length).toBeGreaterThanOrEqual(1);
    expect(lost[0]!.message).toMatch(/lost \d+ trace records/);
    expect(lost[0]!.fix).toMatch(/perfRingPages/);
  });
});
