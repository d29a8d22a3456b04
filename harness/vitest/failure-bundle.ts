import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Network } from '../network.js';
import { formatTimeline } from '../../tracing/report/timeline.js';

/**
 * What a failed spec needs to be understood without re-running it: per network, each node's
 * debug.log tail, the traced message timeline, and the tracer's own diagnostics (its stderr).
 */
export async function failureBundle(network: Network, logLines = 40): Promise<string> {
  const timeline = network.trace.events.length === 0
    ? '(no traced events)'
    : formatTimeline(network.trace.events, { nodes: network.nodes.map((n) => ({ index: n.index, name: n.name })), color: false });
  const errors = network.trace.errors.map((e) => `trace error: ${e.message}`).join('\n');
  return [
    `══ network ${network.dir} · ${network.binary.versionLine} · edges ${network.edges.map((e) => `${e.from}>${e.to}`).join(',')} ══`,
    `── message timeline (${network.trace.events.length} events, tracer ${network.tracer?.source ?? 'none'}) ──`,
    timeline,
    ...(errors ? [errors] : []),
    await network.failureBundle(logLines),
  ].join('\n\n');
}

/** Where bundles are written: $REGTEST_HARNESS_FAILURE_DIR, else .regtest-harness/failures under the cwd. */
export function failureDir(): string {
  return process.env.REGTEST_HARNESS_FAILURE_DIR ?? join(process.cwd(), '.regtest-harness', 'failures');
}

/** Write a bundle to a file named after the test; returns its path. */
export async function writeFailureBundle(testName: string, text: string): Promise<string> {
  const dir = failureDir();
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${testName.replace(/[^\w.-]+/g, '_').slice(0, 120)}.txt`);
  await writeFile(file, text);
  return file;
}
