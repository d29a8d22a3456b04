import { TOPOLOGY_SHAPES } from '../topology.js';
import { usageError } from '../common/errors.js';
import { MAX_NODES } from '../node-count.js';
import { parseIntegerFlag } from './command.js';
import type { ConnectMode } from '../network.js';

/** Flags shared by the commands that start a network (up, run). */
export const NETWORK_FLAGS = {
  nodes: { type: 'string' },
  topology: { type: 'string' },
  'connect-mode': { type: 'string' },
  bitcoind: { type: 'string' },
  keep: { type: 'boolean' },
  'datadir-root': { type: 'string' },
  v2transport: { type: 'string' },
} as const;

export const NETWORK_FLAGS_HELP = `  --nodes N                 number of nodes, 1 to ${MAX_NODES} (default 2)
  --topology SPEC           edge list "1>0,2>1" (node 1 dials node 0) or a shape: ${TOPOLOGY_SHAPES.join(', ')} (default line)
  --connect-mode MODE       startup (-connect= at start) or rpc (addnode … onetry once all are up; default)
  --bitcoind PATH           the bitcoind to run (default: $BITCOIND, PATH, the provisioned cache)
  --v2transport on|off      force BIP324 v2 transport on or off (default: the binary's default)
  --keep                    keep the datadirs after exit and print where they are
  --datadir-root DIR        create the network's directory under DIR (default: the system temp dir)`;

export function connectModeFlag(command: string, value: string | undefined): ConnectMode {
  if (value === undefined) return 'rpc';
  if (value === 'startup' || value === 'rpc') return value;
  throw usageError(`--connect-mode must be startup or rpc, got '${value}'`, 'pass --connect-mode startup or --connect-mode rpc');
}

export function v2transportFlag(command: string, value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  if (value === 'on' || value === '1' || value === 'true') return true;
  if (value === 'off' || value === '0' || value === 'false') return false;
  throw usageError(`--v2transport must be on or off, got '${value}'`, 'pass --v2transport on or --v2transport off');
}

/** --nodes: decimal digits only, within 1..MAX_NODES (harness/node-count.ts says why that bound). */
export function nodesFlag(command: string, value: string | undefined, fallback: number, min = 1): number {
  return parseIntegerFlag(command, 'nodes', value, fallback, min, MAX_NODES);
}
