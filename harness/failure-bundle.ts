import { formatTimeline } from '../tracing/report/timeline.js';
import type { Network } from './network.js';

/** How many debug.log lines of each node a bundle shows. */
export const BUNDLE_LOG_LINES = 40;

/**
 * What a failed run needs to be understood without re-running it, the same for the vitest fixture,
 * the scenario runner and the CLI: where the network is, the traced message timeline, the trace's
 * errors, each node's debug.log tail (read while the datadirs still exist) and the tracer's own
 * diagnostics (its stderr).
 */
export async function failureBundle(network: Network, logLines = BUNDLE_LOG_LINES): Promise<string> {
  const events = network.trace.events;
  const timeline = events.length === 0 ? '(no traced events)' : formatTimeline(events, { nodes: network.nodes.map((n) => ({ index: n.index, name: n.name })), color: false });
  const errors = network.trace.errors.map((e) => `trace error: ${e.message}${e.evidence ? `\n${e.evidence}` : ''}`).join('\n');
  const parts = [
    // The log tails below are copies: unless kept, the directory is removed once the run ends.
    `══ network ${network.dir}${network.kept ? ' (kept)' : ' (removed after the run; --keep / keep: true keeps it)'} · ${network.binary.versionLine} · edges ${network.edges.map((e) => `${e.from}>${e.to}`).join(',') || '(none)'} ══`,
    `── message timeline (${events.length} events, tracer ${network.tracer?.source ?? 'none'}) ──`,
    timeline,
    ...(errors ? [errors] : []),
  ];
  for (const node of network.nodes) {
    const exit = node.lastExit && !node.running ? ` — exited (${node.lastExit.signal ? `signal ${node.lastExit.signal}` : `exit code ${node.lastExit.code}`})` : '';
    parts.push(`── ${node.name} debug.log (last ${logLines} lines)${exit} ──\n${await node.logTail(logLines)}`);
  }
  if (network.tracer) parts.push(`── tracer (${network.tracer.source}) ──\n${network.tracer.diagnostics()}`);
  return parts.join('\n\n');
}
