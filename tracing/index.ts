/** `regtest-harness/tracing`: the event model, the tracers, the trace store and the renderers. */
export type * from './events.js';
export { isMessageEvent, direction, MESSAGE_TRACEPOINTS } from './events.js';
export { catalog, tracepoint, isTracepointName, NET_TRACEPOINTS, tracepointsOf, argumentsFor } from './catalog.js';
export type { Tracer, TraceTarget, EventSink, PeerInfo } from './tracer.js';
export { Trace, type TraceOptions, type WaitOptions } from './trace.js';
export { handshakeComplete, waitForHandshake, type ConnectionView, type ConnectionSide, type Role } from './connections.js';
export { LogTracer, LOG_TRACER_NODE_ARGS } from './log-tracer.js';
export { UsdtTracer, defaultPool } from './bpftrace/usdt-tracer.js';
export { SessionPool } from './bpftrace/pool.js';
export { chooseTracer, parseTracerChoice, TRACER_CHOICES, type TracerChoice } from './choose.js';
export { readProbeNotes, parseProbeNotes, hasProbes, type ProbeNote } from './elf-notes.js';
export { diffProbes, formatProbeDiff } from './probe-diff.js';
export { decodePayload, summarize } from './decode/index.js';
export { formatTimeline, formatTimelineLine, timelineContext } from './report/timeline.js';
export { renderReport, type ReportInput } from './report/html.js';
export { eventsToNDJSON, formatEventJson } from './ndjson.js';
