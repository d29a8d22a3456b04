import { checkNodeCount } from './node-count.js';
import { HarnessError } from './common/errors.js';

/** A directed edge: `from` dials `to` (node `from` makes the outbound connection). */
export interface Edge {
  from: number;
  to: number;
}

export type TopologyShape = 'line' | 'star' | 'ring' | 'mesh' | 'none';
export const TOPOLOGY_SHAPES: readonly TopologyShape[] = ['line', 'star', 'ring', 'mesh', 'none'];

const TOPOLOGY_FIX = `use an edge list like "1>0,2>1" (node 1 dials node 0) with indices below the node count, or one of: ${TOPOLOGY_SHAPES.join(', ')}`;

function badTopology(message: string): HarnessError {
  return new HarnessError('BAD_TOPOLOGY', message, { fix: TOPOLOGY_FIX });
}

/** Edges of a named shape. Later nodes dial earlier ones, like Core's functional framework. */
export function shapeEdges(shape: TopologyShape, nodeCount: number): Edge[] {
  const edges: Edge[] = [];
  switch (shape) {
    case 'none':
      break;
    case 'line':
      for (let i = 1; i < nodeCount; i++) edges.push({ from: i, to: i - 1 });
      break;
    case 'star':
      for (let i = 1; i < nodeCount; i++) edges.push({ from: i, to: 0 });
      break;
    case 'ring':
      for (let i = 1; i < nodeCount; i++) edges.push({ from: i, to: i - 1 });
      if (nodeCount > 2) edges.push({ from: 0, to: nodeCount - 1 });
      break;
    case 'mesh':
      for (let i = 1; i < nodeCount; i++) for (let j = 0; j < i; j++) edges.push({ from: i, to: j });
      break;
  }
  return edges;
}

/** Parse `"1>0,2>1"` or a shape name into validated edges for `nodeCount` nodes. */
export function parseTopology(spec: string | readonly Edge[], nodeCount: number): Edge[] {
  checkNodeCount(nodeCount); // before any edge list is built: a huge count must not allocate
  const edges = typeof spec === 'string' ? parseSpec(spec.trim(), nodeCount) : [...spec];
  validateEdges(edges, nodeCount);
  return edges;
}

function parseSpec(spec: string, nodeCount: number): Edge[] {
  if ((TOPOLOGY_SHAPES as readonly string[]).includes(spec)) return shapeEdges(spec as TopologyShape, nodeCount);
  if (spec === '') return [];
  return spec.split(',').map((part) => {
    const match = /^\s*(\d+)\s*>\s*(\d+)\s*$/.exec(part);
    if (!match) throw badTopology(`cannot read topology edge '${part.trim()}' in '${spec}'`);
    return { from: Number(match[1]), to: Number(match[2]) };
  });
}

function validateEdges(edges: readonly Edge[], nodeCount: number): void {
  const seen = new Set<string>();
  for (const { from, to } of edges) {
    for (const index of [from, to]) {
      if (!Number.isInteger(index) || index < 0 || index >= nodeCount) {
        throw badTopology(`topology edge ${from}>${to} names node ${index}, but the network has nodes 0..${nodeCount - 1}`);
      }
    }
    if (from === to) throw badTopology(`topology edge ${from}>${to} is a self-loop: a node cannot dial itself`);
    const key = `${from}>${to}`;
    if (seen.has(key)) throw badTopology(`topology edge ${key} appears twice`);
    seen.add(key);
  }
}

export function formatEdge(edge: Edge): string {
  return `${edge.from}>${edge.to}`;
}
