/**
 * bpftrace itself: installed (and which version), and whether it can get the privileges it needs,
 * as root or through passwordless sudo — the same rule the bpftrace session applies.
 */
import { execa } from 'execa';
import { tracerPrivilege, type Privilege } from '../../tracing/bpftrace/session.js';
import { locateBpftrace, supportsOneBody, type LocatedBpftrace } from '../../tracing/bpftrace/locate.js';
import { missing, ok, type CheckResult } from './check.js';
import { checkSudoMode, SUDOERS_HINT } from './sudo.js';
import { DEFAULT_TIMEOUTS } from '../common/timing.js';

/** A `--version` run (harness/common/timing.ts). */
const VERSION_TIMEOUT_MS = DEFAULT_TIMEOUTS.probeProcess;
const USE_LOG_TRACER = 'or use --tracer log (debug.log; works with any bitcoind)';

export interface BpftraceFacts {
  /** Absolute path of the bpftrace the tracer runs (tracing/bpftrace/locate.ts), if any. */
  path: string | undefined;
  located: LocatedBpftrace | undefined;
  privilege: Privilege;
}

export function bpftraceFacts(): BpftraceFacts {
  const located = locateBpftrace();
  return { path: located?.path, located, privilege: tracerPrivilege() };
}

function describeShape(version: string): string {
  return supportsOneBody(version)
    ? 'one probe body per tracepoint, payloads up to 4096 bytes'
    : 'one probe body per argument (more uprobes), payloads cut at 200 bytes';
}

/**
 * Which bpftrace the tracer uses and why. With `located` (the tracer's own choice) its version
 * is known without running it (`--version` costs ~0.4 s); without, `path --version` is run.
 */
export async function checkBpftraceInstalled(path: string | undefined, located?: LocatedBpftrace): Promise<CheckResult> {
  const install = `install it (Debian/Ubuntu: apt-get install bpftrace), ${USE_LOG_TRACER}`;
  if (!path) return missing('bpftrace.installed', 'bpftrace is not on PATH', install);
  if (located?.path === path && located.version) {
    return ok('bpftrace.installed', `bpftrace v${located.version} at ${path} (${describeShape(located.version)}): ${located.reason}`);
  }
  const result = await execa(path, ['--version'], { reject: false, timeout: VERSION_TIMEOUT_MS, stdin: 'ignore' });
  const version = String(result.stdout).trim().split('\n')[0] ?? '';
  if (result.exitCode !== 0 || !/^bpftrace v?\d/.test(version)) {
    const said = (version || String(result.stderr).trim().split('\n')[0] || result.shortMessage || '').slice(0, 120);
    return missing('bpftrace.installed', `${path} --version failed: ${said}`, `reinstall bpftrace, ${USE_LOG_TRACER}`);
  }
  return ok('bpftrace.installed', `${version} at ${path}`);
}

/** As root: ok. Through sudo: every command shape real runs use must work (sudo.ts). */
export async function checkPrivilege(privilege: Privilege, bpftrace: string | undefined): Promise<CheckResult> {
  switch (privilege.kind) {
    case 'root':
      return ok('bpftrace.privilege', 'running as root: bpftrace can attach probes');
    case 'capabilities':
      return ok('bpftrace.privilege', 'not root, but CAP_BPF and CAP_PERFMON are ambient: bpftrace inherits them');
    case 'sudo':
      if (!bpftrace) return ok('bpftrace.privilege', 'not root, but `sudo -n true` works (the bpftrace commands are checked once bpftrace is installed)');
      return checkSudoMode(bpftrace);
    case 'none':
      return missing(
        'bpftrace.privilege',
        `bpftrace needs root to attach probes: ${privilege.reason}`,
        // The session probes with `sudo -n true` and runs `sudo -n env … bpftrace` and `sudo -n kill`: a bpftrace-only rule is not enough.
        `run as root, or allow this user passwordless sudo for true, env and kill — ${SUDOERS_HINT} — ${USE_LOG_TRACER}`,
      );
  }
}
