import type { BitcoinNode } from './node.js';
import type { Edge } from './topology.js';

/** What dialling needs of a network. */
export interface DialScope {
  readonly nodes: readonly BitcoinNode[];
  readonly edges: readonly Edge[];
  node(index: number): BitcoinNode;
}

/** The addresses node `index` dials: its edges' listeners (`-connect=` in startup mode). */
export function dialTargets(scope: DialScope, index: number): string[] {
  return scope.edges.filter((e) => e.from === index).map((e) => scope.node(e.to).p2pAddress);
}

/** One edge, dialled once (`addnode … onetry`), as rpc connect mode does. */
export async function dial(scope: DialScope, edge: Edge): Promise<void> {
  await scope.node(edge.from).rpc.call('addnode', scope.node(edge.to).p2pAddress, 'onetry');
}

/**
 * Startup mode: a node that had to move to fresh ports while starting (a port taken meanwhile,
 * harness/node.ts) has dialers whose `-connect=` names its old address; they restart with the new one.
 */
export async function redirectDialersOfMovedNodes(scope: DialScope, planned: readonly string[]): Promise<void> {
  const moved = scope.nodes.filter((node) => node.p2pAddress !== planned[node.index]).map((node) => node.index);
  for (const index of new Set(scope.edges.filter((e) => moved.includes(e.to)).map((e) => e.from))) {
    scope.node(index).setConnect(dialTargets(scope, index));
    await scope.node(index).restart();
  }
}
