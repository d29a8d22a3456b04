/**
 * tracefs at /sys/kernel/tracing. Not required for events, but without it bpftrace 0.17 cannot
 * remove its uprobes cleanly and prints errors on exit (docs/sources.md, "bpftrace 0.17").
 */
import { readFile } from 'node:fs/promises';
import type { Privilege } from '../../tracing/bpftrace/session.js';
import { ok, warn, type CheckResult } from './check.js';

export const TRACEFS_MOUNTPOINT = '/sys/kernel/tracing';
const MOUNT_COMMAND = `mount -t tracefs nodev ${TRACEFS_MOUNTPOINT}`;

/** True when a mounts table (/proc/mounts format) has tracefs at the mountpoint. */
export function tracefsMounted(mountsTable: string): boolean {
  return mountsTable.split('\n').some((line) => {
    const [, mountpoint, type] = line.split(/\s+/);
    return mountpoint === TRACEFS_MOUNTPOINT && type === 'tracefs';
  });
}

export async function checkTracefs(privilege: Privilege, mountsFile = '/proc/mounts'): Promise<CheckResult> {
  const table = await readFile(mountsFile, 'utf8').catch(() => undefined);
  if (table === undefined) {
    return warn('kernel.tracefs', `cannot read ${mountsFile} to see whether tracefs is mounted`, `check with 'mount | grep tracefs'; if absent, run '${MOUNT_COMMAND}' as root`);
  }
  if (tracefsMounted(table)) return ok('kernel.tracefs', `tracefs mounted at ${TRACEFS_MOUNTPOINT}`);
  const detail = `tracefs is not mounted at ${TRACEFS_MOUNTPOINT}: events still arrive, but bpftrace prints 'failed to detach probe' errors on exit`;
  // The bpftrace session mounts it itself, but only when it runs as root (not through sudo).
  if (privilege.kind === 'root') return warn('kernel.tracefs', detail, `none needed: the tracer runs '${MOUNT_COMMAND}' itself as root (or run it now)`);
  return warn('kernel.tracefs', detail, `run 'sudo ${MOUNT_COMMAND}' (the tracer mounts it itself only when running as root)`);
}
