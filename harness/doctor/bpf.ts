/**
 * Is the bpf() syscall usable? The proof is running a BPF program: `bpftrace -e 'BEGIN { exit() }'`
 * loads one into the kernel. Without bpftrace or privileges that is impossible, and the check
 * falls back to evidence that the syscall is compiled in.
 */
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import type { Privilege } from '../../tracing/bpftrace/session.js';
import { missing, ok, warn, type CheckResult } from './check.js';
import { describeOption, type KernelConfig } from './kernel-config.js';

const PROBE_PROGRAM = 'BEGIN { exit() }';
const PROBE_TIMEOUT_MS = 30_000;
const UNPRIVILEGED_BPF_SYSCTL = '/proc/sys/kernel/unprivileged_bpf_disabled';
/** bpftrace 0.17 prints this on every run here even though programs load (docs/sources.md, "bpftrace 0.17"). */
const HARMLESS_STDERR = /couldn't set RLIMIT_MEMLOCK/;
const KERNEL_FIX = 'use a kernel with CONFIG_BPF_SYSCALL=y and check that no container/seccomp/LSM policy blocks bpf(), or use --tracer log';

export type BpfProbeOutcome = { ok: true; command: string } | { ok: false; command: string; error: string };

/** One live probe per (bpftrace, privilege) per process: `--tracer auto` may ask for every network. */
const outcomes = new Map<string, Promise<BpfProbeOutcome>>();

export function probeBpf(bpftrace: string, privilege: Exclude<Privilege['kind'], 'none'>): Promise<BpfProbeOutcome> {
  const key = `${privilege}\0${bpftrace}`;
  let pending = outcomes.get(key);
  if (!pending) {
    pending = runProbe(bpftrace, privilege);
    outcomes.set(key, pending);
  }
  return pending;
}

async function runProbe(bpftrace: string, privilege: Exclude<Privilege['kind'], 'none'>): Promise<BpfProbeOutcome> {
  // Through sudo, the same shape real runs use (`sudo -n env … bpftrace`, doctor/sudo.ts), not `sudo -n bpftrace`.
  const [file, args] = privilege !== 'sudo' ? [bpftrace, ['-e', PROBE_PROGRAM]] : ['sudo', ['-n', 'env', 'BPFTRACE_PERF_RB_PAGES=64', bpftrace, '-e', PROBE_PROGRAM]];
  const command = `${privilege === 'sudo' ? 'sudo -n env BPFTRACE_PERF_RB_PAGES=64 ' : ''}bpftrace -e '${PROBE_PROGRAM}'`;
  const result = await execa(file, args, { reject: false, timeout: PROBE_TIMEOUT_MS, stdin: 'ignore' });
  if (result.exitCode === 0 && !result.timedOut) return { ok: true, command };
  const said = String(result.stderr)
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !HARMLESS_STDERR.test(line));
  const error = result.timedOut ? `did not finish within ${PROBE_TIMEOUT_MS / 1000} s` : (said[0] ?? result.shortMessage ?? `exit code ${result.exitCode}`);
  return { ok: false, command, error: error.slice(0, 200) };
}

export interface BpfCheckInput {
  bpftrace: string | undefined;
  privilege: Privilege;
  config?: KernelConfig;
  /** Load a program to prove it (default true: the doctor); false: only the static evidence (start-up of a run). */
  live?: boolean;
}

export async function checkBpf({ bpftrace, privilege, config, live = true }: BpfCheckInput): Promise<CheckResult> {
  if (live && bpftrace && privilege.kind !== 'none') {
    const outcome = await probeBpf(bpftrace, privilege.kind);
    if (outcome.ok) return ok('kernel.bpf', `BPF works: \`${outcome.command}\` loaded and ran a program`);
    return missing('kernel.bpf', `\`${outcome.command}\` failed: ${outcome.error}`, KERNEL_FIX);
  }
  const why = !live ? 'the live test is the doctor\'s (regtest-harness doctor)' : !bpftrace ? 'bpftrace is not installed' : 'no root or passwordless sudo';
  const compiled = config?.get('CONFIG_BPF_SYSCALL');
  if (compiled === 'n') return missing('kernel.bpf', `the kernel has no bpf() syscall: ${describeOption(config, 'CONFIG_BPF_SYSCALL')}`, KERNEL_FIX);
  // The sysctl exists only in kernels built with the bpf() syscall.
  const sysctl = (await readFile(UNPRIVILEGED_BPF_SYSCTL, 'utf8').catch(() => undefined))?.trim();
  const evidence = [compiled === undefined ? '' : describeOption(config, 'CONFIG_BPF_SYSCALL'), sysctl === undefined ? '' : `${UNPRIVILEGED_BPF_SYSCTL}=${sysctl}`].filter(Boolean);
  if (evidence.length > 0) {
    return ok('kernel.bpf', `bpf() syscall compiled in (${evidence.join(', ')}); not exercised: ${why}`);
  }
  return warn(
    'kernel.bpf',
    `cannot tell whether bpf() works: ${why}, and neither the kernel config nor ${UNPRIVILEGED_BPF_SYSCTL} is readable`,
    'install bpftrace and run the doctor as root so it can load a test program',
  );
}
