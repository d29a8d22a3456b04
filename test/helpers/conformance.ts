/**
 * Shared by the conformance specs: why the usdt suite cannot run here (one line), and the cells
 * of a binary's result that are not what the catalog expects, as readable lines for a failure.
 */
import { coreBuildsSkipReason } from './core-builds.js';
import { bpftraceBinary } from '../../tracing/bpftrace/session.js';
import type { BinaryConformance } from '../../harness/conformance/types.js';
import { cell } from '../../harness/conformance/report.js';
import { damagedProbeSites } from '../../tracing/probe-sites.js';
import { readProbeNotes } from '../../tracing/elf-notes.js';

export function conformanceSkipReason(): string | false {
  const builds = coreBuildsSkipReason();
  if (builds) return builds;
  if (process.platform !== 'linux') return 'USDT tracing needs Linux';
  if (process.getuid?.() !== 0) return 'not root: bpftrace needs root to attach uprobes';
  if (!bpftraceBinary()) return 'bpftrace is not installed (apt-get install bpftrace)';
  return false;
}

/**
 * Cells not as the catalog expects. A probe whose site in the file is not a nop (an altered
 * build, tracing/probe-sites.ts) cannot fire: its cell must say so ('site: …') and nothing else.
 */
export async function unexpectedCells(binary: BinaryConformance, bitcoind: string): Promise<string[]> {
  const altered = new Set((await damagedProbeSites(bitcoind, await readProbeNotes(bitcoind))).map((d) => d.probe));
  return binary.tracepoints
    .filter((t) => (altered.has(t.name) ? !(t.problems.length === 1 && t.problems[0]!.startsWith('site:')) : !t.ok))
    .map((t) => `${cell(t)} ${t.name}: ${t.problems.join('; ')}`);
}
