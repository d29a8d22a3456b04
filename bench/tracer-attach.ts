/**
 * Tracer-ready latency: from bpftrace's spawn until its probes are provably live, through the
 * harness's own path (UsdtTracer.attach on a SessionPool), on emitter processes standing in for nodes.
 * "Provably live": right after attach resolves, every process's semaphore is up (its probe fires)
 * and that first hit reaches the sink.
 */
import type { SessionPool } from '../tracing/bpftrace/pool.js';
import { UsdtTracer } from '../tracing/bpftrace/usdt-tracer.js';
import type { TracepointName } from '../tracing/events.js';
import type { Emitter } from '../test/helpers/emitter.js';
import { summarize, type Summary } from './stats.js';
import { benchPool, emitterTarget, TimingSink } from './tracer-fixtures.js';

export interface AttachFigure {
  label: string;
  processes: number;
  /** bpftrace processes started per run (0: a kept-alive one was reused). */
  bpftraceSpawned: number;
  tracepoints: number;
  /** ms from the first bpftrace spawn until every attach resolved; absent when nothing was spawned. */
  spawnToLive: Summary | undefined;
  /** ms of the attach call(s), as a network pays them. */
  attachCall: Summary;
  /** ms of detach plus, without keep-alive, stopping bpftrace until it exited (a network's dispose). */
  detachAndStop: Summary;
  /** Runs in which every process's first hit after the barrier was delivered. */
  liveRuns: number;
  runs: number;
}

const nsToMs = (ns: bigint): number => Number(ns) / 1e6;

interface AttachRun {
  spawnToLiveMs: number | undefined;
  attachCallMs: number;
  detachAndStopMs: number;
  live: boolean;
  spawned: number;
}

/**
 * One attach of each tracer to its group of processes, all in parallel; timed, proven live,
 * detached. Without a pool, a fresh one (stopped at the end) so every run spawns bpftrace.
 */
async function attachOnce(
  makeTracers: (pool: SessionPool) => UsdtTracer[],
  groups: readonly (readonly { emitter: Emitter; elfPath: string }[])[],
  pool?: SessionPool,
): Promise<AttachRun> {
  let firstSpawnNs: bigint | undefined;
  let spawned = 0;
  const ownPool = pool === undefined;
  const usedPool =
    pool ??
    benchPool(0, () => {
      spawned++;
      firstSpawnNs ??= process.hrtime.bigint();
    });
  const tracers = makeTracers(usedPool);
  const startNs = process.hrtime.bigint();
  const sinks = tracers.map(() => new TimingSink(startNs));
  try {
    await Promise.all(
      tracers.map((tracer, i) =>
        tracer.attach(
          groups[i]!.map(({ emitter, elfPath }, index) => emitterTarget(emitter, index, elfPath)),
          sinks[i]!,
          startNs,
        ),
      ),
    );
    const liveNs = process.hrtime.bigint();
    const fired = await Promise.all(groups.flat().map(({ emitter }) => emitter.fire('net:inbound_message', PING)));
    const detachNs = process.hrtime.bigint();
    await Promise.all(tracers.map((tracer) => tracer.detach())); // syncs: every hit read or counted lost
    if (ownPool) await usedPool.shutdown();
    const detachAndStopMs = nsToMs(process.hrtime.bigint() - detachNs);
    const delivered = groups.every((group, i) => group.every((_, index) => sinks[i]!.perNode.get(index) === 1));
    return {
      spawnToLiveMs: firstSpawnNs === undefined ? undefined : nsToMs(liveNs - firstSpawnNs),
      attachCallMs: nsToMs(liveNs - startNs),
      detachAndStopMs,
      live: fired.every(Boolean) && delivered && sinks.every((sink) => sink.failures.length === 0),
      spawned,
    };
  } finally {
    await Promise.all(tracers.map((tracer) => tracer.detach()));
    if (ownPool) await usedPool.shutdown();
  }
}

const PING = { peer_id: 1, peer_addr: '127.0.0.1:18444', peer_conn_type: 'inbound', msg_type: 'ping', msg_size: 0, msg: '' };

function figure(label: string, runs: readonly AttachRun[], processes: number, tracepoints: number): AttachFigure {
  const spawnToLive = runs.flatMap((r) => (r.spawnToLiveMs === undefined ? [] : [r.spawnToLiveMs]));
  return {
    label,
    processes,
    bpftraceSpawned: Math.max(...runs.map((r) => r.spawned)),
    tracepoints,
    spawnToLive: spawnToLive.length > 0 ? summarize(spawnToLive) : undefined,
    attachCall: summarize(runs.map((r) => r.attachCallMs)),
    detachAndStop: summarize(runs.map((r) => r.detachAndStopMs)),
    liveRuns: runs.filter((r) => r.live).length,
    runs: runs.length,
  };
}

/** Path mode: one bpftrace on the binary, whatever number of its processes are running (all of them targets). */
export async function pathModeAttach(
  label: string,
  elfPath: string,
  emitters: readonly Emitter[],
  runs: number,
  tracepoints: readonly TracepointName[],
): Promise<AttachFigure> {
  const results: AttachRun[] = [];
  for (let k = 0; k < runs; k++) {
    results.push(await attachOnce((pool) => [new UsdtTracer({ pool, tracepoints })], [emitters.map((emitter) => ({ emitter, elfPath }))]));
  }
  return figure(label, results, emitters.length, tracepoints.length);
}

/**
 * One bpftrace per process, started in parallel (the best case for that design). The session code
 * has no `-p PID` mode, so each process runs its own copy of the binary (its own inode): each
 * path-mode bpftrace then sees exactly one process, which is what `-p` would give.
 */
export async function perProcessAttach(
  label: string,
  processes: readonly { emitter: Emitter; elfPath: string }[],
  runs: number,
  tracepoints: readonly TracepointName[],
): Promise<AttachFigure> {
  const results: AttachRun[] = [];
  for (let k = 0; k < runs; k++) {
    results.push(
      await attachOnce(
        (pool) => processes.map(() => new UsdtTracer({ pool, tracepoints })),
        processes.map((p) => [p]),
      ),
    );
  }
  return figure(label, results, processes.length, tracepoints.length);
}

/** A second network on the same binary, with the pool keeping the first network's bpftrace alive. */
export async function keptAliveAttach(
  label: string,
  elfPath: string,
  emitters: readonly Emitter[],
  runs: number,
  tracepoints: readonly TracepointName[],
): Promise<AttachFigure> {
  let spawned = 0;
  const pool = benchPool(60_000, () => spawned++);
  const group = [emitters.map((emitter) => ({ emitter, elfPath }))];
  const tracer = () => [new UsdtTracer({ pool, tracepoints })];
  try {
    await attachOnce(tracer, group, pool); // the first network: pays the spawn
    const before = spawned;
    const results: AttachRun[] = [];
    for (let k = 0; k < runs; k++) results.push({ ...(await attachOnce(tracer, group, pool)), spawned: spawned - before });
    return figure(label, results, emitters.length, tracepoints.length);
  } finally {
    await pool.shutdown();
  }
}
