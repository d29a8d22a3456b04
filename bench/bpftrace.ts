/**
 * bpftrace tracer figures on the USDT emitter (root, bpftrace, cc needed):
 *  - attach latency, spawn → barrier, for 1, the 7 net and all 20 tracepoints, and whether the
 *    barrier proves liveness (semaphore raised, first hit traced right after it);
 *  - delivery rate of net:inbound_message with full payload capture and whether anything was lost.
 * Run from the repo root: node <build>/bench/bpftrace.js
 */
import type { TracepointName } from '../tracing/events.js';
import { catalog, NET_TRACEPOINTS } from '../tracing/catalog.js';
import { readProbeNotes } from '../tracing/elf-notes.js';
import { generateProgram } from '../tracing/bpftrace/program.js';
import { BpftraceSession } from '../tracing/bpftrace/session.js';
import { buildEmitter, Emitter, emitterSkipReason } from '../test/helpers/emitter.js';

const ms = (ns: bigint) => Number(ns / 1000n) / 1000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function attachLatency(elfPath: string, emitter: Emitter, tracepoints: readonly TracepointName[], runs: number) {
  const notes = await readProbeNotes(elfPath);
  const times: number[] = [];
  let live = 0;
  for (let k = 0; k < runs; k++) {
    const program = generateProgram({ elfPath, tracepoints, probeNotes: notes });
    let hits = 0;
    const session = await BpftraceSession.start(program);
    session.addListener({ record: () => void hits++, lost() {}, failed() {} });
    times.push(ms(session.attachNs!));
    // Liveness right at the barrier: the semaphore is up and the very next hit is traced.
    const name = tracepoints[0]!;
    const sem = await emitter.semaphore(name);
    if (name === 'net:inbound_message' && sem > 0) {
      await emitter.fire('net:inbound_message', { peer_id: 1, peer_addr: 'a', peer_conn_type: 'inbound', msg_type: 'ping', msg_size: 0, msg: '' });
      await session.sync();
      if (hits === 1) live++;
    } else if (sem > 0) live++;
    await session.stop();
  }
  return { tracepoints: tracepoints.length, probeBlocks: generateProgram({ elfPath, tracepoints, probeNotes: notes }).probeCount, medianMs: median(times), runsMs: times, liveAtBarrier: `${live}/${runs}` };
}

async function deliveryRate(elfPath: string, emitter: Emitter, perfRingPages: number, count: number, payloadLength: number, perSecond = 0) {
  const program = generateProgram({ elfPath, tracepoints: ['net:inbound_message'], probeNotes: await readProbeNotes(elfPath) });
  const session = await BpftraceSession.start(program, { perfRingPages });
  session.addListener({ record() {}, lost() {}, failed() {} });
  const start = process.hrtime.bigint();
  const fired = await emitter.burst('net:inbound_message', count, payloadLength, perSecond);
  const firedNs = process.hrtime.bigint() - start;
  await session.sync(60_000);
  const doneNs = process.hrtime.bigint() - start;
  const stats = session.stats();
  await session.stop();
  return {
    perfRingPages,
    offeredPerSecond: perSecond || 'max',
    fired,
    payloadLength,
    fireSeconds: ms(firedNs) / 1000,
    deliveredPerSecond: Math.round(stats.completeHits / (Number(doneNs) / 1e9)),
    completeHits: stats.completeHits,
    lostRecords: stats.lostRecords,
  };
}

async function main() {
  const skip = emitterSkipReason();
  if (skip) {
    console.log(`skipped: ${skip}`);
    return;
  }
  const elfPath = await buildEmitter('bench');
  const emitter = await Emitter.start(elfPath);
  try {
    const runs = Number(process.env.RUNS ?? 5);
    for (const set of (process.env.SKIP_ATTACH ? [] : [['net:inbound_message'], NET_TRACEPOINTS, catalog.map((r) => r.name)]) as TracepointName[][]) {
      console.log(JSON.stringify({ attach: await attachLatency(elfPath, emitter, set, runs) }));
    }
    // As fast as the emitter fires, then paced: the highest offered rate with no loss is the figure.
    for (const [pages, count, perSecond] of [
      [1024, 100_000, 0],
      [4096, 100_000, 0],
      [1024, 10_000, 2_000],
      [1024, 20_000, 5_000],
      [1024, 30_000, 10_000],
      [1024, 40_000, 20_000],
    ] as const) {
      console.log(JSON.stringify({ rate: await deliveryRate(elfPath, emitter, pages, count, 250, perSecond) }));
    }
  } finally {
    await emitter.stop();
  }
}

await main();
