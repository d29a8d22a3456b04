import { laneName } from '../peer-lanes.js';

/** Node metadata a report shows, and how an event's node index becomes a human name. */

export interface ReportNode {
  index: number;
  name: string;
  /** e.g. "v29.0.0" or a subversion string. */
  version?: string;
  /** Path of the bitcoind binary that ran. */
  binary?: string;
}

export type NodeNamer = (index: number) => string;

/** Names from metadata; nodes the metadata forgot still get a stable name. */
export function nodeNamer(nodes: readonly Pick<ReportNode, 'index' | 'name'>[] = []): NodeNamer {
  const names = new Map(nodes.map((n) => [n.index, n.name]));
  return (index) => names.get(index) ?? laneName(index); // test peers: peer0, … (tracing/peer-lanes.ts)
}
