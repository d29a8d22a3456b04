/**
 * The debug.log tracer's line → event latency, for comparison with USDT: a LogTracer follows a
 * file we append Core-style message lines to (one write per line, as bitcoind's logger does),
 * and each event is timed from just before its line's write to its delivery in the sink.
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HarnessError } from '../harness/common/errors.js';
import { guardPath, releasePath } from '../harness/common/child-process/reaper.js';
import { LogTracer } from '../tracing/log-tracer.js';
import type { EventSink, TraceTarget } from '../tracing/tracer.js';
import { percentile } from './tracer-fixtures.js';

export interface LogLatencyFigure {
  lines: number;
  delivered: number;
  intervalMs: number;
  latencyMedianMs: number | undefined;
  latencyP99Ms: number | undefined;
  latencyMaxMs: number | undefined;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `received: ping` with -logtimemicros's timestamp, as bitcoind writes it with -debug=net. */
function messageLine(k: number): string {
  return `${new Date().toISOString().replace('Z', '000Z')} [net] received: ping (8 bytes) peer=${k % 8}\n`;
}

export async function logTracerLatency(lines: number, intervalMs: number): Promise<LogLatencyFigure> {
  const dir = await mkdtemp(join(tmpdir(), 'regtest-bench-log-'));
  guardPath(dir);
  const logPath = join(dir, 'debug.log');
  const file = await open(logPath, 'a');
  const writtenNs: bigint[] = [];
  const latenciesMs: number[] = [];
  const failures: HarnessError[] = [];
  const sink: EventSink = {
    // Events arrive in line order: the k-th event is the k-th line.
    push: () => latenciesMs.push(Number(process.hrtime.bigint() - writtenNs[latenciesMs.length]!) / 1e6),
    fail: (error) => failures.push(error),
  };
  const target: TraceTarget = {
    index: 0,
    pid: process.pid,
    debugLogPath: logPath,
    elfPath: '',
    resolvePeer: async () => undefined,
  };
  const tracer = new LogTracer();
  try {
    await tracer.attach([target], sink, process.hrtime.bigint());
    for (let k = 0; k < lines; k++) {
      const line = messageLine(k);
      writtenNs.push(process.hrtime.bigint());
      await file.write(line);
      await sleep(intervalMs);
    }
    await tracer.detach(); // reads to EOF: anything still unread is delivered now (and timed as such)
    if (failures.length > 0) throw failures[0];
    return {
      lines,
      delivered: latenciesMs.length,
      intervalMs,
      latencyMedianMs: percentile(latenciesMs, 50),
      latencyP99Ms: percentile(latenciesMs, 99),
      latencyMaxMs: percentile(latenciesMs, 100),
    };
  } finally {
    await tracer.detach();
    await file.close();
    await rm(dir, { recursive: true, force: true });
    releasePath(dir);
  }
}
