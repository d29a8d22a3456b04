/**
 * `regtest-harness doctor` as a library: checks every prerequisite of the launch → trace → assert
 * path on this machine and says which tracer `--tracer auto` would choose.
 */
import type { BitcoindBinary } from '../binary.js';
import { checkPrivilege, checkBpftraceInstalled, bpftraceFacts } from './bpftrace.js';
import { checkBpf } from './bpf.js';
import { checkBitcoind } from './bitcoind.js';
import { missing, type CheckResult } from './check.js';
import { readKernelConfig } from './kernel-config.js';
import { checkBtf, checkKernelVersion, checkUprobes } from './kernel.js';
import { checkBitcoindProbes } from './probes.js';
import { checkTracefs } from './tracefs.js';
import { decideTracer, type TracerDecision } from './tracer-decision.js';

export type { CheckId, CheckResult, CheckStatus } from './check.js';
export { checkBitcoindProbes, describeCensus, NO_USDT_FIX, probeCensus, type ProbeCensus } from './probes.js';
export { checkTracefs, tracefsMounted } from './tracefs.js';
export { doctorJson, formatDoctorReport, type DoctorJson } from './report.js';
export { decideTracer, usdtReadiness, USDT_REQUIREMENTS, type TracerDecision, type TracerKind } from './tracer-decision.js';

export interface DoctorOptions {
  /** --bitcoind PATH; otherwise BITCOIND, PATH and the cache, as every command resolves it (never provisioned). */
  bitcoind?: string;
  env?: NodeJS.ProcessEnv;
}

export interface DoctorReport {
  /** In output order: kernel, tracefs, bpftrace, bitcoind. */
  checks: CheckResult[];
  tracer: TracerDecision;
  /** The bitcoind found, if any. */
  bitcoind?: BitcoindBinary;
  /** A bitcoind was found: the harness can run (the log tracer always works). */
  canRun: boolean;
}

export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  const facts = bpftraceFacts();
  const config = await readKernelConfig();
  const [bpf, uprobes, tracefs, installed, found, privilege] = await Promise.all([
    checkBpf({ bpftrace: facts.path, privilege: facts.privilege, config }),
    checkUprobes(config),
    checkTracefs(facts.privilege),
    checkBpftraceInstalled(facts.path, facts.located),
    checkBitcoind(options.bitcoind, options.env ?? process.env),
    checkPrivilege(facts.privilege, facts.path),
  ]);
  const probes = found.binary
    ? await checkBitcoindProbes(found.binary.elfPath)
    : missing('bitcoind.probes', 'not checked: no bitcoind was found', 'see bitcoind.binary');
  const checks = [checkKernelVersion(), bpf, uprobes, checkBtf(config), tracefs, installed, privilege, found.result, probes];
  return {
    checks,
    tracer: decideTracer(checks),
    ...(found.binary ? { bitcoind: found.binary } : {}),
    canRun: found.binary !== undefined,
  };
}
