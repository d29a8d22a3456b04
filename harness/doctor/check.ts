/**
 * The unit of `regtest-harness doctor`: one finding about one prerequisite, with the fix when it
 * is not fine. Every check module returns these; the report and the tracer decision read them.
 */

/** `warn`: works, but something is degraded or could not be proven. `missing`: a prerequisite is absent. */
export type CheckStatus = 'ok' | 'missing' | 'warn';

/** Stable ids: `--json` consumers match on them. */
export type CheckId =
  | 'kernel.version'
  | 'kernel.bpf'
  | 'kernel.uprobes'
  | 'kernel.btf'
  | 'kernel.tracefs'
  | 'bpftrace.installed'
  | 'bpftrace.privilege'
  | 'bitcoind.binary'
  | 'bitcoind.probes';

export interface CheckResult {
  id: CheckId;
  status: CheckStatus;
  /** What was found, as one line. */
  detail: string;
  /** What to do about it; null exactly when status is ok. */
  fix: string | null;
}

export function ok(id: CheckId, detail: string): CheckResult {
  return { id, status: 'ok', detail, fix: null };
}

export function warn(id: CheckId, detail: string, fix: string): CheckResult {
  return { id, status: 'warn', detail, fix };
}

export function missing(id: CheckId, detail: string, fix: string): CheckResult {
  return { id, status: 'missing', detail, fix };
}
