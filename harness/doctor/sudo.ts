/**
 * Sudo mode, checked the way real runs use it. Not root, the tracer (tracing/bpftrace/session.ts)
 * tests `sudo -n true`, starts bpftrace as `sudo -n env K=V… bpftrace …` (sudo resets the
 * environment, so the BPFTRACE_* settings go through env), and stops it with `sudo -n kill`
 * (harness/common/child-process/signal.ts): a root process can only be signalled by root. A
 * sudoers rule for bpftrace alone passes `sudo -n bpftrace` but fails every real run, so each of
 * those three command shapes is tried here, with the same environment keys real runs pass.
 */
import { budget, makeTiming } from '../common/timing.js';
import { missing, ok, type CheckResult } from './check.js';

/** The sudoers line that grants what real runs need (README, "Security"). */
export const SUDOERS_HINT = 'a sudoers line such as `youruser ALL=(root) NOPASSWD: /usr/bin/true, /usr/bin/env, /usr/bin/kill` (root-equivalent: see README, Security)';

/** The env keys real runs pass to bpftrace (tracing/bpftrace/program.ts and session.ts), with harmless values. */
const BPFTRACE_ENV = ['BPFTRACE_STRLEN=64', 'BPFTRACE_MAP_KEYS_MAX=65536', 'BPFTRACE_PERF_RB_PAGES=64'];

export interface SudoProbe {
  /** As shown to the user. */
  shown: string;
  argv: string[];
}

/** The three command shapes real runs execute through sudo, as harmless probes. */
export function sudoProbes(bpftrace: string, ownPid: number = process.pid): SudoProbe[] {
  return [
    { shown: 'sudo -n true', argv: ['-n', 'true'] },
    { shown: `sudo -n env BPFTRACE_…=… ${bpftrace} --version`, argv: ['-n', 'env', ...BPFTRACE_ENV, bpftrace, '--version'] },
    { shown: `sudo -n kill -0 -- ${ownPid}`, argv: ['-n', 'kill', '-0', '--', String(ownPid)] },
  ];
}

/**
 * bpftrace.privilege in sudo mode: ok only when every probe exits 0 without a password prompt.
 * `env` is where `sudo` is looked up (PATH), as the session's spawn does.
 */
export async function checkSudoMode(bpftrace: string, env: NodeJS.ProcessEnv = process.env): Promise<CheckResult> {
  const timeout = budget(makeTiming(), 'probeProcess');
  for (const probe of sudoProbes(bpftrace)) {
    const { execa } = await import('execa'); // loaded only when this runs (CLI start-up stays light)
    const result = await execa('sudo', probe.argv, { env, extendEnv: false, reject: false, timeout, stdin: 'ignore' }).catch(() => undefined);
    if (!result || result.exitCode !== 0) {
      const said = String(result?.stderr ?? '').trim().split('\n')[0]?.slice(0, 160) || `exit code ${result?.exitCode ?? '?'}`;
      return missing(
        'bpftrace.privilege',
        `not root, and \`${probe.shown}\` failed (${said}): real runs need it`,
        `run as root, or allow this user passwordless sudo for true, env and kill — ${SUDOERS_HINT} — or use --tracer log`,
      );
    }
  }
  return ok('bpftrace.privilege', 'not root, but passwordless sudo runs `true`, `env … bpftrace` and `kill`: bpftrace runs through sudo');
}
