/**
 * What `--tracer auto` picks. USDT needs every one of: the binary's net message probes, bpftrace,
 * root or passwordless sudo, uprobes and a working bpf(); otherwise the debug.log tracer, which
 * works with any bitcoind. The doctor and `--tracer auto` decide with this same rule.
 */
import { checkPrivilege, checkBpftraceInstalled, bpftraceFacts } from './bpftrace.js';
import { checkBpf } from './bpf.js';
import type { CheckId, CheckResult } from './check.js';
import { checkUprobes } from './kernel.js';
import { checkBitcoindProbes } from './probes.js';

export type TracerKind = 'usdt' | 'log';

export interface TracerDecision {
  auto: TracerKind;
  reason: string;
}

/** Cheapest first: usdtReadiness stops at the first one missing. */
export const USDT_REQUIREMENTS: readonly CheckId[] = ['bitcoind.probes', 'bpftrace.installed', 'bpftrace.privilege', 'kernel.uprobes', 'kernel.bpf'];

export function decideTracer(checks: readonly CheckResult[]): TracerDecision {
  const binary = checks.find((c) => c.id === 'bitcoind.binary');
  if (binary?.status === 'missing') {
    return { auto: 'log', reason: `no bitcoind was found (${binary.detail}), so nothing can run yet; with one, the debug.log tracer always works` };
  }
  const blockers = checks.filter((c) => USDT_REQUIREMENTS.includes(c.id) && c.status === 'missing');
  if (blockers.length > 0) {
    const why = blockers.map((c) => `${c.id}: ${c.detail}`).join('; ');
    return { auto: 'log', reason: `USDT is not possible here (${why}); the debug.log tracer works with any bitcoind` };
  }
  const unchecked = USDT_REQUIREMENTS.filter((id) => !checks.some((c) => c.id === id));
  if (unchecked.length > 0) return { auto: 'log', reason: `not checked: ${unchecked.join(', ')}` };
  const partial = checks.find((c) => c.id === 'bitcoind.probes' && c.status === 'warn');
  const caveat = partial ? ' (not all net tracepoints: connection events are not traced)' : '';
  return { auto: 'usdt', reason: `bpftrace is installed and privileged, the kernel loads BPF programs and has uprobes, and the bitcoind carries the net message probes${caveat}` };
}

/**
 * Can the USDT tracer trace the bitcoind whose ELF is `elfPath`, here and now? For `--tracer auto`:
 * the first failed requirement is the reason. Cheap checks only: files, capabilities, cached versions.
 */
export async function usdtReadiness(elfPath: string): Promise<{ ok: boolean; reason: string }> {
  const facts = bpftraceFacts();
  const steps: Array<() => Promise<CheckResult> | CheckResult> = [
    () => checkBitcoindProbes(elfPath),
    () => checkBpftraceInstalled(facts.path, facts.located),
    () => checkPrivilege(facts.privilege, facts.path),
    () => checkUprobes(),
    // No live BPF program here (a whole bpftrace run, ~0.4 s): the tracer's own attach is the proof, and fails with bpftrace's words.
    () => checkBpf({ bpftrace: facts.path, privilege: facts.privilege, live: false }),
  ];
  const checks: CheckResult[] = [];
  for (const step of steps) {
    const result = await step();
    checks.push(result);
    if (result.status === 'missing') break;
  }
  const decision = decideTracer(checks);
  return { ok: decision.auto === 'usdt', reason: decision.reason };
}
