/** regtest-harness: the public API. */
export { Network, type NetworkOptions, type ConnectMode } from './network.js';
export { BitcoinNode, type NodeOptions } from './node.js';
export { MAX_NODES } from './node-count.js';
export { Rpc, RpcError } from './rpc.js';
export type * from './rpc-types.js';
export { parseTopology, shapeEdges, formatEdge, TOPOLOGY_SHAPES, type Edge, type TopologyShape } from './topology.js';
export { resolveBitcoind, identifyBinary, type BitcoindBinary, type BinarySource } from './binary.js';
export { HarnessError, isHarnessError, type HarnessErrorCode } from './common/errors.js';
export { waitUntil } from './common/wait.js';
export { chooseTracer, parseTracerChoice, TRACER_CHOICES, type TracerChoice, type ChosenTracer } from './doctor/choose-tracer.js';
export { runConformance, type ConformanceOptions } from './conformance/run.js';
export { formatMatrix, conformanceJson, renderConformanceHtml, conformanceOk } from './conformance/report.js';
export type { ConformanceReport, BinaryConformance, TracepointConformance } from './conformance/types.js';
export * from './p2p/index.js';
