/**
 * The tracer section of `npm run bench`: bpftrace tracer-ready latency (1 vs 8 processes, one
 * bpftrace per process, kept-alive reuse), end-to-end delivery at regtest-like rates, and the
 * debug.log tracer's line → event latency. Runs on the USDT emitter (test/emitter), which stands in
 * for a USDT-enabled bitcoind: needs root, bpftrace, cc and sys/sdt.h.
 */
import { spawnSync } from 'node:child_process';
import { bpftraceBinary } from '../tracing/bpftrace/session.js';
import { catalog, DEFAULT_USDT_TRACEPOINTS, NET_TRACEPOINTS } from '../tracing/catalog.js';
import { bpftraceVersion as locatedVersion, supportsOneBody } from '../tracing/bpftrace/locate.js';
import { BPFTRACE_MAX_STRLEN, ONE_BODY_MAX_STRLEN } from '../tracing/bpftrace/program.js';
import type { TracepointName } from '../tracing/events.js';
import { emitterSkipReason, type Emitter } from '../test/helpers/emitter.js';
import type { BenchContext } from './context.js';
import { logTracerLatency, type LogLatencyFigure } from './log-tracer-latency.js';
import { keptAliveAttach, pathModeAttach, perProcessAttach, type AttachFigure } from './tracer-attach.js';
import { benchPool, EmitterCopies, startEmitters, stopEmitters } from './tracer-fixtures.js';
import { deliveryAt, type RateFigure } from './tracer-rate.js';

export interface TracerFigures {
  bpftrace: string;
  quick: boolean;
  /** How long each paced rate ran. */
  rateSeconds: number;
  attach: AttachFigure[];
  attachNotes: string[];
  /** Tracepoints the rate section's tracer attaches. */
  rateTracepoints: number;
  /** The rates for each message size, at the tracer's default capture. */
  series: RateSeries[];
  logTracer: LogLatencyFigure;
}

export interface RateSeries {
  captureBytes: number;
  messageBytes: number;
  rates: RateFigure[];
  /** Highest paced rate delivered whole; undefined when every rate lost something. */
  highestZeroLossPerSecond: number | undefined;
  /** Highest paced rate delivered whole and as fast as offered (no backlog). */
  highestKeptUpPerSecond: number | undefined;
}

/**
 * The message sizes measured at the tracer's default capture: on bpftrace ≥ 0.20 (4096 bytes),
 * 250 bytes, printed as 64-bit words, and 1000 bytes, past WORD_PAYLOAD_MAX, printed through buf()
 * (tracing/bpftrace/program.ts); on 0.17 (200 bytes, so cut) only the 250-byte series.
 */
function rateSeries(): { captureBytes: number; messageBytes: number }[] {
  const path = bpftraceBinary();
  const oneBody = path !== undefined && supportsOneBody(locatedVersion(path));
  if (!oneBody) return [{ captureBytes: BPFTRACE_MAX_STRLEN, messageBytes: SMALL_MESSAGE }];
  return [
    { captureBytes: ONE_BODY_MAX_STRLEN, messageBytes: SMALL_MESSAGE },
    { captureBytes: ONE_BODY_MAX_STRLEN, messageBytes: LARGE_MESSAGE },
  ];
}
const SMALL_MESSAGE = 250;
const LARGE_MESSAGE = 1000;

/** Why the tracer section cannot run here, or undefined when it can. */
export function tracerSkipReason(): string | undefined {
  return emitterSkipReason();
}

/** Per mode: paced rates (events/s over both processes) and seconds at each, then one unpaced burst. */
const RATE_PLAN = {
  quick: { rates: [500, 2000, 5000], seconds: 1, unpacedBurst: 10_000, logLines: 100 },
  full: { rates: [500, 1000, 2000, 5000, 10_000, 20_000, 30_000, 40_000], seconds: 3, unpacedBurst: 50_000, logLines: 400 },
} as const;
const LOG_LINE_INTERVAL_MS = 5;
const PROCESS_COUNT = 8;

export async function runTracerBench(ctx: BenchContext): Promise<TracerFigures> {
  const plan = ctx.quick ? RATE_PLAN.quick : RATE_PLAN.full;
  // Copies named by our pid: a concurrent run (or test file) never shares our inodes or semaphores.
  const copies = new EmitterCopies(`bench-${process.pid}`);
  const running: Emitter[] = [];
  try {
    const { figures: attach, notes: attachNotes } = await attachFigures(ctx, copies, running);
    await stopEmitters(running.splice(0));
    const series: RateSeries[] = [];
    for (const { captureBytes, messageBytes } of rateSeries()) {
      const rates = await rateFigures(ctx, copies, running, plan, captureBytes, messageBytes);
      await stopEmitters(running.splice(0));
      const whole = rates.filter((r) => r.offeredPerSecond > 0 && r.lost === 0 && r.errors.length === 0);
      series.push({ captureBytes, messageBytes, rates, highestZeroLossPerSecond: highest(whole), highestKeptUpPerSecond: highest(whole.filter((r) => r.keptUp)) });
    }
    ctx.progress(`tracer: log tracer, ${plan.logLines} lines every ${LOG_LINE_INTERVAL_MS} ms`);
    const logTracer = await logTracerLatency(plan.logLines, LOG_LINE_INTERVAL_MS);
    return {
      bpftrace: bpftraceVersion(),
      quick: ctx.quick,
      rateSeconds: plan.seconds,
      attach,
      attachNotes,
      rateTracepoints: DEFAULT_USDT_TRACEPOINTS.length,
      series,
      logTracer,
    };
  } finally {
    await stopEmitters(running);
    await copies.removeAll();
  }
}

/** Attach figures, and notes on what was left out. */
async function attachFigures(ctx: BenchContext, copies: EmitterCopies, running: Emitter[]): Promise<{ figures: AttachFigure[]; notes: string[] }> {
  const figures: AttachFigure[] = [];
  const notes: string[] = [];
  const record = (figure: AttachFigure): void => {
    figures.push(figure);
    ctx.progress(
      `tracer: ${figure.label}: attach ${figure.attachCall.median.toFixed(0)} ms, detach+stop ${figure.detachAndStop.median.toFixed(0)} ms (medians), live ${figure.liveRuns}/${figure.runs}`,
    );
  };
  const elfPath = await copies.path('path-mode');
  running.push(...(await startEmitters(elfPath, 1)));
  // Its first network's attach (untimed) also warms the caches for the cold figures that follow.
  record(await keptAliveAttach('kept-alive pool, 2nd network', elfPath, running, ctx.runs, NET_TRACEPOINTS));
  record(await pathModeAttach('path mode, 1 process', elfPath, running, ctx.runs, NET_TRACEPOINTS));
  if (!ctx.quick) {
    record(await pathModeAttach('path mode, 1 process, 1 tracepoint', elfPath, running, ctx.runs, ['net:inbound_message']));
    record(await pathModeAttach('path mode, 1 process, all tracepoints', elfPath, running, ctx.runs, catalog.map((r) => r.name) as TracepointName[]));
  }
  running.push(...(await startEmitters(elfPath, PROCESS_COUNT - 1)));
  record(await pathModeAttach(`path mode, ${PROCESS_COUNT} processes`, elfPath, running, ctx.runs, NET_TRACEPOINTS));
  await stopEmitters(running.splice(0));

  if (ctx.quick) {
    notes.push(
      `one bpftrace per process (${PROCESS_COUNT} sessions) is not run with --quick: stopping ${PROCESS_COUNT} bpftrace processes ` +
        'takes ~30 s per run here; run without --quick for it. Not run either: 1 and all 20 tracepoints.',
    );
    return { figures, notes };
  }
  const processes: { emitter: Emitter; elfPath: string }[] = [];
  for (let k = 0; k < PROCESS_COUNT; k++) {
    const own = await copies.path(`process-${k}`);
    const [emitter] = await startEmitters(own, 1);
    running.push(emitter!);
    processes.push({ emitter: emitter!, elfPath: own });
  }
  record(await perProcessAttach(`one bpftrace per process, ${PROCESS_COUNT} in parallel`, processes, ctx.runs, NET_TRACEPOINTS));
  return { figures, notes };
}

async function rateFigures(
  ctx: BenchContext,
  copies: EmitterCopies,
  running: Emitter[],
  plan: (typeof RATE_PLAN)[keyof typeof RATE_PLAN],
  captureBytes: number,
  messageBytes: number,
): Promise<RateFigure[]> {
  const elfPath = await copies.path('rate');
  const [inbound, outbound] = await startEmitters(elfPath, 2);
  running.push(inbound!, outbound!);
  const pair = [inbound!, outbound!] as const;
  // One bpftrace for every rate, as a test run's kept-alive pool gives; each rate gets a fresh tracer and sink.
  const pool = benchPool(60_000);
  try {
    await deliveryAt(pool, elfPath, pair, 1000, 200, captureBytes, messageBytes); // warm-up: spawn and first records, not counted
    const figures: RateFigure[] = [];
    for (const perSecond of plan.rates) {
      const figure = await deliveryAt(pool, elfPath, pair, perSecond, perSecond * plan.seconds, captureBytes, messageBytes);
      ctx.progress(`tracer: ${messageBytes} B messages, capture ${captureBytes} B, ${perSecond}/s for ${plan.seconds} s: ${figure.delivered}/${figure.fired} delivered, ${figure.lost} lost`);
      figures.push(figure);
    }
    const unpaced = await deliveryAt(pool, elfPath, pair, 0, plan.unpacedBurst, captureBytes, messageBytes);
    ctx.progress(`tracer: ${messageBytes} B messages, capture ${captureBytes} B, unpaced burst of ${plan.unpacedBurst}: ${unpaced.delivered}/${unpaced.fired} delivered, ${unpaced.lost} lost`);
    figures.push(unpaced);
    return figures;
  } finally {
    await pool.shutdown();
  }
}

function highest(rates: readonly RateFigure[]): number | undefined {
  return rates.length > 0 ? Math.max(...rates.map((r) => r.offeredPerSecond)) : undefined;
}

function bpftraceVersion(): string {
  const path = bpftraceBinary();
  if (!path) return 'unknown';
  return spawnSync(path, ['--version'], { encoding: 'utf8' }).stdout.trim() || 'unknown';
}
