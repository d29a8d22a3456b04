import type { BitcoindBinary } from '../binary.js';
import { HarnessError, usageError } from '../common/errors.js';
import { usdtReadiness } from './tracer-decision.js';
import { UsdtTracer } from '../../tracing/bpftrace/usdt-tracer.js';
import { LogTracer } from '../../tracing/log-tracer.js';
import type { Tracer } from '../../tracing/tracer.js';
import type { TracepointName } from '../../tracing/events.js';

export type TracerChoice = 'auto' | 'usdt' | 'log';
export const TRACER_CHOICES: readonly TracerChoice[] = ['auto', 'usdt', 'log'];

export interface ChosenTracer {
  tracer: Tracer;
  /** One line: which tracer and why (printed by the CLI for `auto`). */
  reason: string;
}

export function parseTracerChoice(value: string | undefined): TracerChoice {
  if (value === undefined) return 'auto';
  if ((TRACER_CHOICES as readonly string[]).includes(value)) return value as TracerChoice;
  throw usageError(`--tracer must be one of ${TRACER_CHOICES.join(', ')}, got '${value}'`, 'pass --tracer auto (usdt when it can run, else log), usdt or log');
}

/**
 * `usdt` when bpftrace can run here and the binary carries the net probes; `log` otherwise
 * (or when asked). Asking for `usdt` where it cannot run is an error naming what is missing.
 */
export async function chooseTracer(
  choice: TracerChoice,
  binary: BitcoindBinary,
  /** Tracepoints beyond the USDT tracer's default that the run reads (a scenario's `tracepoints`). */
  extraTracepoints: readonly TracepointName[] = [],
): Promise<ChosenTracer> {
  if (choice === 'log') return { tracer: new LogTracer(), reason: 'tracer: log (debug.log -debug=net lines), as asked' };
  // The same decision `regtest-harness doctor` reports: probes, bpftrace, privileges, uprobes, a live BPF program.
  const usdt = await usdtReadiness(binary.elfPath);
  if (usdt.ok) return { tracer: new UsdtTracer({ extraTracepoints }), reason: `tracer: usdt (bpftrace on ${binary.elfPath}'s tracepoints)` };
  if (choice === 'usdt') {
    const permission = /root|sudo|privilege/i.test(usdt.reason);
    throw new HarnessError(permission ? 'TRACER_PERMISSION' : 'NO_PROBES', `cannot trace with USDT: ${usdt.reason}`, {
      fix: permission
        ? 'run as root, or configure passwordless sudo for this user (the tracer runs `sudo -n env … bpftrace` and `sudo -n kill`), or use --tracer log'
        : 'use an official Bitcoin Core release ≥ v23 (regtest-harness provision --source release), or --tracer log',
    });
  }
  return { tracer: new LogTracer(), reason: `tracer: log — ${usdt.reason}` };
}
