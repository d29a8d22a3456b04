/**
 * The bpftrace session against real kernel uprobes on the USDT emitter: every catalog tracepoint
 * decoded exactly, semaphores raised only while attached, path mode across processes, the clock.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TracepointArgsMap, TracepointName } from '../tracing/events.js';
import { catalog, MAX_MISBEHAVING_MESSAGE_LENGTH, MAX_PEER_ADDR_LENGTH, MAX_REJECT_REASON_LENGTH } from '../tracing/catalog.js';
import { readProbeNotes } from '../tracing/elf-notes.js';
import { generateProgram, WORD_PAYLOAD_MAX } from '../tracing/bpftrace/program.js';
import type { RawRecord } from '../tracing/bpftrace/parse.js';
import { BpftraceSession, type SessionListener } from '../tracing/bpftrace/session.js';
import { isHarnessError, type HarnessError } from '../harness/common/errors.js';
import { locateBpftrace, supportsOneBody } from '../tracing/bpftrace/locate.js';
import { buildEmitter, Emitter, emitterSkipReason, ourBpftracePids } from './helpers/emitter.js';

const skip = emitterSkipReason();

/** Collects what a session delivers; `until` waits for a condition on the records. */
class Collector implements SessionListener {
  records: RawRecord[] = [];
  lostTotal = 0;
  failures: Error[] = [];
  record(r: RawRecord) {
    this.records.push(r);
  }
  lost(_count: number, total: number) {
    this.lostTotal = total;
  }
  failed(e: Error) {
    this.failures.push(e);
  }
  async until(done: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`timed out; have ${this.records.length} records`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

const hash = (seed: number) => Array.from({ length: 32 }, (_, k) => ((seed * 37 + k * 11) & 0xff).toString(16).padStart(2, '0')).join('');
const repeatTo = (pattern: string, length: number) => pattern.repeat(Math.ceil(length / pattern.length)).slice(0, length);
const payload = (length: number) => Array.from({ length }, (_, k) => ((k * 7 + 3) & 0xff).toString(16).padStart(2, '0')).join('');

/** Distinctive values for every tracepoint: negatives, max-length strings, both hash orders. */
const SAMPLES: { [N in TracepointName]: TracepointArgsMap[N] } = {
  'net:inbound_message': {
    peer_id: 7,
    peer_addr: repeatTo('abcdefghijklmnopqrstuvwxyz234567', 62) + ':18444',
    peer_conn_type: 'outbound-full-relay',
    msg_type: 'aaaaaaaaaaaaaaaaaaaa',
    msg_size: 250,
    msg: payload(250),
  },
  'net:outbound_message': { peer_id: 0, peer_addr: '127.0.0.1:18444', peer_conn_type: 'manual', msg_type: 'version', msg_size: 5, msg: payload(5) },
  'net:inbound_connection': { peer_id: 11, peer_addr: '[::1]:42000', peer_conn_type: 'inbound', peer_network: 2, existing_connections: 3 },
  'net:outbound_connection': { peer_id: 12, peer_addr: '127.0.0.1:18445', peer_conn_type: 'block-relay-only', peer_network: 0, existing_connections: 9 },
  'net:evicted_inbound_connection': { peer_id: 13, peer_addr: '10.0.0.1:1', peer_conn_type: 'inbound', peer_network: 1, time_established: 1_732_000_000 },
  'net:misbehaving_connection': { peer_id: -1, message: repeatTo('header with invalid proof of work; ', MAX_MISBEHAVING_MESSAGE_LENGTH) },
  'net:closed_connection': { peer_id: 14, peer_addr: 'x.onion:8333', peer_conn_type: 'feeler', peer_network: 3, time_established: 4_000_000_000 },
  'validation:block_connected': { block_hash: hash(1), height: -2, transactions: 3_000, inputs: -4, sigops: 80_000, duration: 1_234_567_890_123 },
  'utxocache:flush': { duration_us: -5, mode: 3, coins_count: 1_000_001, coins_mem_usage: 99_999_999, is_flush_for_prune: true },
  'utxocache:add': { txid: hash(2), vout: 4_294_967_295, height: 101, value: 5_000_000_000, is_coinbase: true },
  'utxocache:spent': { txid: hash(3), vout: 0, height: 1, value: -1, is_coinbase: false },
  'utxocache:uncache': { txid: hash(4), vout: 2, height: 200, value: 21_000_000, is_coinbase: false },
  'coin_selection:selected_coins': { wallet_name: 'my wallet name 1' /* 16 = WALLET_NAME_LENGTH, with spaces */, algorithm: 'bnb', target: 100_000, waste: -2_500, selected_value: 150_000 },
  'coin_selection:normal_create_tx_internal': { wallet_name: '', success: false, fee: 0, change_pos: -1 },
  'coin_selection:attempting_aps_create_tx': { wallet_name: 'w0123456789abcde' },
  'coin_selection:aps_create_tx_internal': { wallet_name: 'w', use_aps: true, success: true, fee: 141, change_pos: 1 },
  'mempool:added': { txid: hash(5), vsize: 141, fee: 31_200 },
  'mempool:removed': { txid: hash(6), reason: 'sizelimit', vsize: 200, fee: 1_000, entry_time: 1_700_000_000 },
  'mempool:replaced': {
    replaced_txid: hash(7),
    replaced_vsize: -7,
    replaced_fee: -7_000,
    replaced_entry_time: 123,
    replacement_txid: hash(8),
    replacement_vsize: -9,
    replacement_fee: -12,
    replaced_by_transaction: true,
  },
  'mempool:rejected': { txid: hash(9), reason: repeatTo('mandatory-script-verify-flag-failed (Script evaluated without error) ', MAX_REJECT_REASON_LENGTH) },
};

describe.skipIf(skip)('bpftrace session on the USDT emitter', () => {
  let emitterPath: string;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    emitterPath = await buildEmitter('session-test');
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    expect(ourBpftracePids()).toEqual([]);
  });

  async function emitter(): Promise<Emitter> {
    const e = await Emitter.start(emitterPath);
    cleanups.push(() => e.stop());
    return e;
  }

  async function session(tracepoints: readonly TracepointName[], options: { perfRingPages?: number; payloadBytes?: number } = {}) {
    // The program shape the pool would pick for the bpftrace in use (one body per tracepoint from 0.20).
    const oneBody = supportsOneBody(locateBpftrace()?.version);
    const program = generateProgram({ elfPath: emitterPath, tracepoints, probeNotes: await readProbeNotes(emitterPath), payloadBytes: options.payloadBytes, oneBody });
    const s = await BpftraceSession.start(program, { perfRingPages: options.perfRingPages });
    // Stopping does not wait for the kernel's uprobe detach; the leak check after each test does.
    cleanups.push(() => s.stop().then(() => s.waitForExit()));
    const collector = new Collector();
    s.addListener(collector);
    return { session: s, collector, program };
  }

  it('decodes every argument of all 20 tracepoints exactly', async () => {
    const e = await emitter();
    const names = catalog.map((r) => r.name);
    const { collector, program } = await session(names);
    expect(program.unavailable).toEqual([]);
    for (const name of names) expect(await e.fire(name, SAMPLES[name])).toBe(true);
    await collector.until(() => collector.records.length === names.length);

    for (const name of names) {
      const got = collector.records.filter((r) => r.tracepoint === name);
      expect(got, name).toHaveLength(1);
      const expected: Record<string, unknown> = { ...SAMPLES[name] };
      if ('msg' in expected) {
        const captured = Math.min(Number(expected.msg_size), program.payloadBytes);
        expected.msg = String(expected.msg).slice(0, captured * 2);
        expected.msg_captured = captured;
      }
      expect(got[0]!.args, name).toEqual(expected);
      expect(got[0]!.pid).toBe(e.pid);
    }
    const inbound = collector.records.find((r) => r.tracepoint === 'net:inbound_message')!.args as TracepointArgsMap['net:inbound_message'];
    expect(inbound.peer_addr).toHaveLength(MAX_PEER_ADDR_LENGTH);
    expect(inbound.msg_captured).toBe(Math.min(250, program.payloadBytes)); // 200 on bpftrace 0.17, whole from 0.20
    expect(collector.lostTotal).toBe(0);
  });

  it('decodes payloads exactly on both sides of the word form (WORD_PAYLOAD_MAX), cut at the message end', async () => {
    const e = await emitter();
    const { collector, program } = await session(['net:inbound_message']);
    // Both forms are in the program on bpftrace ≥ 0.20 (setup provides 0.23); 0.17 has buf() only, cut at 200.
    if (program.oneBody) expect(program.text).toMatch(/\\tw%lx .*buf\(arg5, \$len\)/);
    // Word-aligned and not, empty, at and past the bound (there the program prints buf() instead).
    const sizes = [0, 1, 7, 8, 9, 250, WORD_PAYLOAD_MAX, WORD_PAYLOAD_MAX + 1, 1000];
    for (const [peer, size] of sizes.entries()) {
      expect(await e.fire('net:inbound_message', { ...SAMPLES['net:inbound_message'], peer_id: peer, msg_size: size, msg: payload(size) })).toBe(true);
    }
    await collector.until(() => collector.records.length === sizes.length);
    for (const record of collector.records) {
      const args = record.args as TracepointArgsMap['net:inbound_message'];
      const size = sizes[args.peer_id]!;
      const captured = Math.min(size, program.payloadBytes);
      expect(args, `${size} bytes`).toMatchObject({ msg_size: size, msg_captured: captured, msg: payload(size).slice(0, captured * 2) });
    }
  });

  it('stamps records with CLOCK_MONOTONIC, the clock of process.hrtime.bigint()', async () => {
    const e = await emitter();
    const { collector } = await session(['net:outbound_message']);
    const before = process.hrtime.bigint();
    await e.fire('net:outbound_message', SAMPLES['net:outbound_message']);
    const after = process.hrtime.bigint();
    await collector.until(() => collector.records.length === 1);
    const ns = collector.records[0]!.ns;
    expect(ns > before && ns < after).toBe(true);
  });

  it('raises semaphores only while attached: nothing fires before, events after, back to 0 after stop', async () => {
    const e = await emitter();
    expect(await e.semaphore('net:inbound_message')).toBe(0);
    expect(await e.fire('net:inbound_message', SAMPLES['net:inbound_message'])).toBe(false);

    const { session: s, collector } = await session(['net:inbound_message', 'net:outbound_message']);
    // Right after the barrier: semaphore raised and the very first probe hit is traced.
    expect(await e.semaphore('net:inbound_message')).toBeGreaterThan(0);
    expect(await e.fire('net:inbound_message', SAMPLES['net:inbound_message'])).toBe(true);
    await collector.until(() => collector.records.length === 1);
    expect(await e.semaphore('mempool:added')).toBe(0); // not asked for, not raised

    await s.stop();
    await s.waitForExit(); // the kernel drops the semaphores as it detaches the uprobes
    expect(await e.semaphore('net:inbound_message')).toBe(0);
    expect(await e.fire('net:inbound_message', SAMPLES['net:inbound_message'])).toBe(false);
  });

  it('path mode: one bpftrace started first traces two later emitters from their first probe, told apart by pid', async () => {
    const { collector } = await session(['net:outbound_message']);
    const a = await emitter();
    const b = await emitter();
    for (const [k, e] of [a, b, a, b].entries()) {
      expect(await e.fire('net:outbound_message', { ...SAMPLES['net:outbound_message'], peer_id: k })).toBe(true);
    }
    await collector.until(() => collector.records.length === 4);
    const peersOf = (pid: number) => collector.records.filter((r) => r.pid === pid).map((r) => (r.args as { peer_id: number }).peer_id);
    expect(peersOf(a.pid)).toEqual([0, 2]);
    expect(peersOf(b.pid)).toEqual([1, 3]);
  });

  it('bpftrace failing to attach is TRACER_FAILED with its stderr; dying later is reported to listeners', async () => {
    // /bin/true has no USDT probes: bpftrace refuses the program.
    const bad = generateProgram({ elfPath: '/bin/true', tracepoints: ['net:inbound_message'] });
    const failure = await BpftraceSession.start(bad).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isHarnessError(failure, 'TRACER_FAILED')).toBe(true);
    expect((failure as HarnessError).message).toMatch(/exited before its probes were attached/);
    expect((failure as HarnessError).evidence).toMatch(/inbound_message/);
    expect((failure as HarnessError).evidence).not.toMatch(/RLIMIT_MEMLOCK/);
    expect(ourBpftracePids()).toEqual([]);

    const { session: s, collector } = await session(['net:inbound_message']);
    process.kill(s.pid!, 'SIGKILL');
    await collector.until(() => collector.failures.length === 1);
    expect(isHarnessError(collector.failures[0], 'TRACER_FAILED')).toBe(true);
    expect(collector.failures[0]!.message).toMatch(/died while tracing.*signal SIGKILL/);
  });
});
