/**
 * End-to-end delivery at a given rate: two emitter processes (two "nodes") fire paced
 * net:inbound_message and net:outbound_message with a payload, through UsdtTracer (its default
 * tracepoints, payloads captured up to a given size) into a sink that times every event from its
 * probe hit.
 */
import type { SessionPool } from '../tracing/bpftrace/pool.js';
import { UsdtTracer } from '../tracing/bpftrace/usdt-tracer.js';
import type { Emitter } from '../test/helpers/emitter.js';
import { emitterTarget, percentile, TimingSink } from './tracer-fixtures.js';

export interface RateFigure {
  /** Payload bytes the tracer captured at most (UsdtTracer's payloadBytes). */
  captureBytes: number;
  /** msg_size of every hit. */
  messageBytes: number;
  /** Offered events/s over both processes; 0 = as fast as the emitters fire. */
  offeredPerSecond: number;
  fired: number;
  delivered: number;
  /** Fired but never delivered (bpftrace's perf ring overflowed, or worse). */
  lost: number;
  /** Delivered events over first hit → last delivery. */
  deliveredPerSecond: number;
  /** Paced, and delivered within 10 % of the offered rate: no backlog built up. */
  keptUp: boolean;
  latencyMedianMs: number | undefined;
  latencyP99Ms: number | undefined;
  latencyMaxMs: number | undefined;
  /** The tracer reported an error (TRACE_EVENTS_LOST, …). */
  errors: string[];
}

/** `count` events of `messageBytes` over both emitters, at `perSecond` in total (0: unpaced). */
export async function deliveryAt(
  pool: SessionPool,
  elfPath: string,
  emitters: readonly [Emitter, Emitter],
  perSecond: number,
  count: number,
  captureBytes: number,
  messageBytes: number,
): Promise<RateFigure> {
  const tracer = new UsdtTracer({ pool, payloadBytes: captureBytes });
  const startedAtNs = process.hrtime.bigint();
  const sink = new TimingSink(startedAtNs);
  try {
    await tracer.attach(
      emitters.map((emitter, index) => emitterTarget(emitter, index, elfPath)),
      sink,
      startedAtNs,
    );
    const half = Math.floor(count / 2);
    const fired = await Promise.all([
      emitters[0].burst('net:inbound_message', half, messageBytes, Math.round(perSecond / 2)),
      emitters[1].burst('net:outbound_message', count - half, messageBytes, Math.round(perSecond / 2)),
    ]);
    await tracer.detach(); // reads everything fired so far, or counts it lost
    const total = fired[0] + fired[1];
    const spanS = (sink.lastDeliveryUs - sink.firstHitUs) / 1e6;
    const deliveredPerSecond = spanS > 0 ? Math.round(sink.delivered / spanS) : 0;
    return {
      captureBytes,
      messageBytes,
      offeredPerSecond: perSecond,
      fired: total,
      delivered: sink.delivered,
      lost: total - sink.delivered,
      deliveredPerSecond,
      keptUp: perSecond > 0 && deliveredPerSecond >= 0.9 * perSecond,
      latencyMedianMs: percentile(sink.latenciesMs, 50),
      latencyP99Ms: percentile(sink.latenciesMs, 99),
      latencyMaxMs: percentile(sink.latenciesMs, 100),
      errors: sink.failures.map((error) => `${error.code}: ${error.message}`),
    };
  } finally {
    await tracer.detach();
  }
}
