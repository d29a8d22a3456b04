import { provisionPrivateRoot, type DebianOptions, type PrivateRootInstall, type PrivateRootSpec } from './debian.js';

/**
 * Debian 13's bpftrace (0.23) in a private root, for machines whose own bpftrace is older than
 * 0.20: it fits every string and a whole payload (up to `max_strlen` 4096) in one probe body per
 * tracepoint, so fewer uprobes to attach and detach, and payloads are not cut at 200 bytes
 * (docs/sources.md, "bpftrace 0.17" and "Private roots"). The tracer finds it through tracing/bpftrace/locate.ts.
 */
export const PRIVATE_BPFTRACE: PrivateRootSpec = {
  package: 'bpftrace',
  suite: 'trixie',
  programs: ['bpftrace'],
  versionArgs: ['--version'],
  otherwise: "the system's bpftrace is used (install bpftrace ≥ 0.20 yourself for whole payloads)",
};

export function provisionPrivateBpftrace(options: DebianOptions): Promise<PrivateRootInstall> {
  return provisionPrivateRoot(PRIVATE_BPFTRACE, options);
}
