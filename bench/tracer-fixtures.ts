/**
 * What the tracer benchmarks share: emitter processes standing in for nodes, the TraceTargets a
 * network would build for them, and a sink that times every event from its probe hit.
 */
import { rm } from 'node:fs/promises';
import type { HarnessError } from '../harness/common/errors.js';
import { SessionPool } from '../tracing/bpftrace/pool.js';
import type { TraceEvent } from '../tracing/events.js';
import type { EventSink, TraceTarget } from '../tracing/tracer.js';
import { buildEmitter, Emitter } from '../test/helpers/emitter.js';

/** Private emitter copies (own inodes, so nobody else's bpftrace raises our semaphores); removed at the end. */
export class EmitterCopies {
  private readonly made = new Set<string>();

  constructor(private readonly prefix: string) {}

  async path(name: string): Promise<string> {
    const path = await buildEmitter(`${this.prefix}-${name}`);
    this.made.add(path);
    return path;
  }

  async removeAll(): Promise<void> {
    await Promise.all([...this.made].map((path) => rm(path, { force: true })));
    this.made.clear();
  }
}

export async function startEmitters(elfPath: string, count: number): Promise<Emitter[]> {
  const started: Emitter[] = [];
  try {
    for (let k = 0; k < count; k++) started.push(await Emitter.start(elfPath));
  } catch (error) {
    await stopEmitters(started);
    throw error;
  }
  return started;
}

export async function stopEmitters(emitters: readonly Emitter[]): Promise<void> {
  await Promise.all(emitters.map((emitter) => emitter.stop()));
}

/** The target a network would hand the tracer; the emitter has no RPC, so peers resolve to nothing. */
export function emitterTarget(emitter: Emitter, index: number, elfPath: string): TraceTarget {
  return {
    index,
    pid: emitter.pid,
    debugLogPath: '',
    elfPath,
    resolvePeer: async () => undefined,
  };
}

/**
 * A pool of our own (never the process-wide one). Its bpftrace processes are guarded by the reaper
 * from spawn to exit like every child (harness/common/child-process/spawn.ts).
 */
export function benchPool(keepAliveMs = 0, onSpawn?: (pid: number) => void): SessionPool {
  return new SessionPool({ keepAliveMs, ...(onSpawn ? { onSpawn } : {}) });
}

/**
 * Counts events per node and times each one from its probe hit to its delivery here.
 * `event.t` is µs since `startedAtNs` on CLOCK_MONOTONIC (bpftrace's nsecs), the clock of hrtime.
 */
export class TimingSink implements EventSink {
  readonly latenciesMs: number[] = [];
  readonly perNode = new Map<number, number>();
  readonly failures: HarnessError[] = [];
  firstHitUs = Infinity;
  lastDeliveryUs = 0;

  constructor(readonly startedAtNs: bigint) {}

  push(event: TraceEvent): void {
    const nowUs = Number(process.hrtime.bigint() - this.startedAtNs) / 1000;
    this.latenciesMs.push((nowUs - event.t) / 1000);
    this.perNode.set(event.node, (this.perNode.get(event.node) ?? 0) + 1);
    this.firstHitUs = Math.min(this.firstHitUs, event.t);
    this.lastDeliveryUs = nowUs;
  }

  fail(error: HarnessError): void {
    this.failures.push(error);
  }

  get delivered(): number {
    return this.latenciesMs.length;
  }
}

/** Nearest-rank percentile (p in 0..100) of unsorted samples; undefined for none. */
export function percentile(samples: readonly number[], p: number): number | undefined {
  if (samples.length === 0) return undefined;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
