/**
 * Shared by the conformance specs: why the usdt suite cannot run here (one line), and the cells
 * of a binary's result that are not what the catalog expects, as readable lines for a failure.
 */
import { coreBuildsSkipReason } from './core-builds.js';
import { bpftraceBinary } from '../../tracing/bpftrace/session.js';
import type { BinaryConformance } from '../../harness/conformance/types.js';
import { cell } from '../../harness/conformance/report.js';

export function conformanceSkipReason(): string | false {
  const builds = coreBuildsSkipReason();
  if (builds) return builds;
  if (process.platform !== 'linux') return 'USDT tracing needs Linux';
  if (process.getuid?.() !== 0) return 'not root: bpftrace needs root to attach uprobes';
  if (!bpftraceBinary()) return 'bpftrace is not installed (apt-get install bpftrace)';
  return false;
}

/** Cells not as the catalog expects, as readable lines for a failure message. */
export function unexpectedCells(binary: BinaryConformance): string[] {
  return binary.tracepoints.filter((t) => !t.ok).map((t) => `${cell(t)} ${t.name}: ${t.problems.join('; ')}`);
}
