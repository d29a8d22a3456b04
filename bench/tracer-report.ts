/** The tracer section's text: method, then one table per measurement. */
import { renderTable, NOT_APPLICABLE, type Column } from './table.js';
import type { TracerFigures } from './tracer.js';
import { WORD_PAYLOAD_MAX } from '../tracing/bpftrace/program.js';

/** Reference sizes of regtest traffic (per the tracer's design notes), not measured here. */
const HANDSHAKE_EVENTS_PER_NODE = 21;
const NETWORK_NODES = 8;

/** ms with enough digits for sub-millisecond latencies. */
function ms(value: number | undefined): string {
  if (value === undefined) return NOT_APPLICABLE;
  return value >= 100 ? `${value.toFixed(0)} ms` : value >= 10 ? `${value.toFixed(1)} ms` : `${value.toFixed(2)} ms`;
}

function attachTable(f: TracerFigures): string {
  const columns: Column[] = [
    { header: 'case', align: 'left' },
    { header: 'processes' },
    { header: 'bpftrace spawned' },
    { header: 'tracepoints' },
    { header: 'spawn → live' },
    { header: 'attach() call' },
    { header: 'attach() range' },
    { header: 'detach + stop' },
    { header: 'live at barrier' },
  ];
  return renderTable(
    columns,
    f.attach.map((a) => [
      a.label,
      String(a.processes),
      String(a.bpftraceSpawned),
      String(a.tracepoints),
      ms(a.spawnToLive?.median),
      ms(a.attachCall.median),
      `${ms(a.attachCall.min)} – ${ms(a.attachCall.max)}`,
      ms(a.detachAndStop.median),
      `${a.liveRuns}/${a.runs} runs`,
    ]),
  );
}

function rateTable(f: TracerFigures): string {
  const columns: Column[] = [
    { header: 'msg_size' },
    { header: 'capture' },
    { header: 'offered/s' },
    { header: 'fired' },
    { header: 'delivered' },
    { header: 'lost' },
    { header: 'delivered/s' },
    { header: 'latency median' },
    { header: 'p99' },
    { header: 'max' },
    { header: 'kept up' },
    { header: 'zero loss', align: 'left' },
  ];
  return renderTable(
    columns,
    f.series.flatMap((c) => c.rates.map((r) => {
      const whole = r.lost === 0 && r.errors.length === 0;
      const mark = !whole ? 'no' : r.offeredPerSecond === c.highestZeroLossPerSecond ? 'yes ◀ highest' : 'yes';
      return [
        `${c.messageBytes} B`,
        `${c.captureBytes} B`,
        r.offeredPerSecond === 0 ? 'unpaced' : String(r.offeredPerSecond),
        String(r.fired),
        String(r.delivered),
        String(r.lost),
        String(r.deliveredPerSecond),
        ms(r.latencyMedianMs),
        ms(r.latencyP99Ms),
        ms(r.latencyMaxMs),
        r.offeredPerSecond === 0 ? NOT_APPLICABLE : r.keptUp ? 'yes' : 'no',
        mark,
      ];
    })),
  );
}

function logTable(f: TracerFigures): string {
  const l = f.logTracer;
  return renderTable(
    [{ header: 'lines' }, { header: 'one every' }, { header: 'delivered' }, { header: 'latency median' }, { header: 'p99' }, { header: 'max' }],
    [[String(l.lines), `${l.intervalMs} ms`, String(l.delivered), ms(l.latencyMedianMs), ms(l.latencyP99Ms), ms(l.latencyMaxMs)]],
  );
}

function headroom(f: TracerFigures): string {
  const handshakeBurst = HANDSHAKE_EVENTS_PER_NODE * NETWORK_NODES;
  const lines = [
    `Regtest reference (not measured here): a handshake is ~${HANDSHAKE_EVENTS_PER_NODE} message events per node, so ${NETWORK_NODES} nodes`,
    `handshaking at once is ~${handshakeBurst} events; a block relay is a burst of tens of events.`,
  ];
  for (const c of f.series) {
    const unpaced = c.rates.find((r) => r.offeredPerSecond === 0);
    lines.push('', `${c.messageBytes}-byte messages, payloads captured up to ${c.captureBytes} bytes:`);
    if (c.highestKeptUpPerSecond !== undefined) {
      lines.push(
        `- highest paced rate delivered whole and kept up with: ${c.highestKeptUpPerSecond} events/s, ` +
          `${Math.floor(c.highestKeptUpPerSecond / handshakeBurst)}× an ${NETWORK_NODES}-node network's handshakes every second.`,
      );
    }
    if (c.highestZeroLossPerSecond !== undefined && c.highestZeroLossPerSecond !== c.highestKeptUpPerSecond) {
      lines.push(
        `- up to ${c.highestZeroLossPerSecond} events/s nothing was lost but the tracer fell behind: the perf ring buffer held the ` +
          'backlog (see the latency), which a longer run at that rate can overflow.',
      );
    }
    if (c.highestZeroLossPerSecond === undefined) lines.push('- no paced rate was delivered whole on this run: see the lost column and the errors in the JSON.');
    if (unpaced) {
      lines.push(
        `- unpaced burst (${unpaced.fired} events as fast as the emitters fire, ${Math.round(unpaced.fired / handshakeBurst)}× that handshake burst): ` +
          `${unpaced.lost === 0 ? 'nothing lost' : `${unpaced.lost} lost`}, drained at ${unpaced.deliveredPerSecond} events/s.`,
      );
    }
  }
  return lines.join('\n');
}

export function renderTracerReport(f: TracerFigures, runs: number): string {
  return `## Tracer

bpftrace: ${f.bpftrace}; the USDT emitter (test/emitter) stands in for bitcoind: same probes, argument types and semaphores.
Figures are noisy: 2 shared cores, other work (other bpftrace sessions too) runs beside this benchmark.

### Tracer-ready latency (median of ${runs} run(s); one untimed attach first)

- spawn → live: from bpftrace's spawn (the pool's onSpawn) until UsdtTracer.attach resolved (the barrier:
  bpftrace runs BEGIN only once every probe is attached). attach() call: the whole call, as a network pays it.
- live at barrier: right after attach resolved, every process fired net:inbound_message (its semaphore was up)
  and that hit reached the sink; a run counts only if that held for every process.
- path mode (the harness's design): one bpftrace per binary sees every process running it, so 8 nodes need
  one bpftrace. One bpftrace per process (what \`-p PID\` would give): the session code has no -p mode, so
  each process runs its own copy of the binary (own inode) and gets its own path-mode bpftrace, all 8 started
  in parallel; spawn → live runs from the first spawn to the last barrier.
- detach + stop: detach (reads what is left) and, unless kept alive, stopping bpftrace until it exited. bpftrace 0.17
  takes seconds to exit on SIGINT with these programs, so the session's 3 s grace then SIGKILL is usually what ends it.
- kept-alive pool: a second network on the same binary while the pool keeps the first one's bpftrace (a test
  run's keep-alive): nothing is spawned, attach is a subscription.

${attachTable(f)}
${f.attachNotes.map((note) => `\nNot measured: ${note}`).join('')}

### End-to-end delivery at regtest rates

Two emitter processes fire net:inbound_message and net:outbound_message (half the rate each, paced evenly),
through UsdtTracer (its ${f.rateTracepoints} default tracepoints, payloads captured up to its default) into a sink,
for each msg_size in the table. bpftrace ≥ 0.20 prints payloads up to ${WORD_PAYLOAD_MAX} bytes as 64-bit words, longer
ones through buf(), ~35 µs per hit in bpftrace's one thread (tracing/bpftrace/program.ts, WORD_PAYLOAD_MAX).
Latency: probe hit (bpftrace nsecs, CLOCK_MONOTONIC) → event delivered to the sink.
delivered/s: delivered events over first hit → last delivery. lost: fired but never delivered.
kept up: delivered/s within 10 % of the offered rate (no backlog); zero loss alone can mean the perf ring
(1024 pages per CPU) held a backlog until the run ended.
Each rate attaches a fresh UsdtTracer to one kept-alive bpftrace; paced runs last ${f.rateSeconds} s each.

${rateTable(f)}

${headroom(f)}

### debug.log tracer: line → event latency (for comparison)

A LogTracer follows a file that Core-style \`received:\` lines are appended to, one write per line;
latency from just before the write to delivery in the sink (inotify-driven reads).

${logTable(f)}`;
}
