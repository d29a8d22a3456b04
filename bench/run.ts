/**
 * `npm run bench`: how long the harness takes to bring up regtest networks, beside a bare
 * bitcoind baseline started the way a hand-written script would; then, where USDT can run, the
 * tracer section (bench/tracer.ts). Prints tables on stdout (progress on stderr); `--json PATH`
 * also writes the figures.
 */
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { resolveBitcoind } from '../harness/binary.js';
import { isHarnessError } from '../harness/common/errors.js';
import { timeBareNodes } from './bare-bitcoind.js';
import type { BenchContext, StartupContext } from './context.js';
import { timeHarnessReady, timeNetworkHandshakes } from './harness-timings.js';
import { ratio, summarize, type Summary } from './stats.js';
import { formatMs, formatRange, formatRatio, renderTable, type Column } from './table.js';
import { runTracerBench, tracerSkipReason, type TracerFigures } from './tracer.js';
import { renderWholeProcess, runWholeProcessBench, type WholeProcessFigures } from './whole-process.js';
import { usdtReadiness } from '../harness/doctor/tracer-decision.js';
import { renderTracerReport } from './tracer-report.js';

const USAGE = `usage: npm run bench -- [options]    (or: node dist/bench/run.js [options])
  --runs N          timed repetitions per figure (default 5; the median is shown)
  --quick           2 runs per figure, for CI-like runs (--runs wins if both are given)
  --nodes LIST      node counts, comma-separated (default 1,2,4,8)
  --json PATH       also write the figures as JSON to PATH
  --bitcoind PATH   the bitcoind to use (default: the harness's usual resolution, e.g. $BITCOIND)
  --tracer          the tracer section only (bpftrace attach latency, events/s, log tracer latency)
  --no-tracer       the startup and whole-process sections only
  --whole           the whole-process section only (run handshake, log vs usdt vs bare, 2 and 8 nodes, teardown)
By default both run; the tracer section is skipped, with the reason, where USDT cannot run
(it needs root, bpftrace, cc and sys/sdt.h for the USDT emitter).`;

/** default: startup, then tracer where it can run; only: --tracer; skip: --no-tracer. */
type TracerMode = 'default' | 'only' | 'skip';

interface Args {
  runs: number;
  quick: boolean;
  nodeCounts: number[];
  jsonPath: string | undefined;
  bitcoind: string | undefined;
  tracer: TracerMode;
  /** Only the whole-process section. */
  wholeOnly: boolean;
}

class UsageError extends Error {}

function parseCliArgs(argv: readonly string[]): Args | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      runs: { type: 'string' },
      quick: { type: 'boolean', default: false },
      nodes: { type: 'string', default: '1,2,4,8' },
      json: { type: 'string' },
      bitcoind: { type: 'string' },
      tracer: { type: 'boolean', default: false },
      whole: { type: 'boolean', default: false },
      'no-tracer': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const runs = values.runs === undefined ? (values.quick ? 2 : 5) : positiveInteger(values.runs, '--runs');
  const nodeCounts = values.nodes.split(',').map((part) => positiveInteger(part.trim(), '--nodes'));
  if (values.tracer && values['no-tracer']) throw new UsageError('--tracer and --no-tracer exclude each other');
  const tracer: TracerMode = values.tracer ? 'only' : values['no-tracer'] ? 'skip' : 'default';
  return { runs, quick: values.quick, nodeCounts, jsonPath: values.json, bitcoind: values.bitcoind, tracer, wholeOnly: values.whole };
}

function positiveInteger(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`${flag}: expected a positive integer, got '${text}'`);
  return value;
}

// ── Startup section ──────────────────────────────────────────────────────────

/** The five figures, each timed from spawn. */
const FIGURES = ['readyHarness', 'readyBare', 'handshakeHarness', 'handshakeBare', 'handshakeLogTracer'] as const;
type Figure = (typeof FIGURES)[number];
const FIGURE_LABELS: Record<Figure, string> = {
  readyHarness: 'ready: harness',
  readyBare: 'ready: bare',
  handshakeHarness: 'handshakes: harness',
  handshakeBare: 'handshakes: bare',
  handshakeLogTracer: 'handshakes: log tracer',
};
type Samples = Record<Figure, number[]>;

interface NodeCountResult {
  nodes: number;
  summaries: Partial<Record<Figure, Summary>>;
  samples: Samples;
}

interface Step {
  label: string;
  run(samples: Samples): Promise<string>;
}

/** The measurements for one node count; handshake steps only where there is an edge. */
function stepsFor(ctx: StartupContext, count: number): Step[] {
  const handshakes = count > 1;
  const steps: Step[] = [
    {
      label: 'bare',
      run: async (samples) => {
        const timings = await timeBareNodes(ctx.binary.path, count, { handshakes });
        samples.readyBare.push(timings.readyMs);
        if (timings.handshakeMs !== undefined) samples.handshakeBare.push(timings.handshakeMs);
        return `bare ${timings.readyMs.toFixed(0)}${timings.handshakeMs === undefined ? '' : `/${timings.handshakeMs.toFixed(0)}`} ms`;
      },
    },
    {
      label: 'harness ready',
      run: async (samples) => {
        const ms = await timeHarnessReady(ctx.binary, count);
        samples.readyHarness.push(ms);
        return `harness ready ${ms.toFixed(0)} ms`;
      },
    },
  ];
  if (handshakes) {
    steps.push(
      {
        label: 'harness handshakes',
        run: async (samples) => {
          const ms = await timeNetworkHandshakes(ctx.binary, count, { logTracer: false });
          samples.handshakeHarness.push(ms);
          return `harness handshakes ${ms.toFixed(0)} ms`;
        },
      },
      {
        label: 'log tracer handshakes',
        run: async (samples) => {
          const ms = await timeNetworkHandshakes(ctx.binary, count, { logTracer: true });
          samples.handshakeLogTracer.push(ms);
          return `log tracer handshakes ${ms.toFixed(0)} ms`;
        },
      },
    );
  }
  return steps;
}

async function measureNodeCount(ctx: StartupContext, count: number): Promise<NodeCountResult> {
  const samples = Object.fromEntries(FIGURES.map((f) => [f, []])) as unknown as Samples;
  const steps = stepsFor(ctx, count);
  for (let run = 0; run < ctx.runs; run++) {
    // Rotate the order each run so no figure always runs right after another's teardown.
    const order = [...steps.slice(run % steps.length), ...steps.slice(0, run % steps.length)];
    const notes: string[] = [];
    for (const step of order) notes.push(await step.run(samples));
    ctx.progress(`${count} node(s), run ${run + 1}/${ctx.runs}: ${notes.join(', ')}`);
  }
  const summaries: Partial<Record<Figure, Summary>> = {};
  for (const figure of FIGURES) if (samples[figure].length > 0) summaries[figure] = summarize(samples[figure]);
  return { nodes: count, summaries, samples };
}

// ── Report ───────────────────────────────────────────────────────────────────

type Machine = Record<string, string | number>;

const loadNow = (): number => Math.round(loadavg()[0]! * 100) / 100;

function machineInfo(): Machine {
  const cpuList = cpus();
  return {
    cores: cpuList.length,
    cpu: cpuList[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${process.platform} ${release()}`,
    node: process.version,
    loadAverage1m: loadNow(),
  };
}

function machineLine(machine: Machine): string {
  return `machine:  ${machine.cores} cores (${machine.cpu}), ${machine.memoryGiB} GiB, ${machine.kernel}, Node ${machine.node}, load avg ${machine.loadAverage1m} at start, ${machine.loadAverage1mEnd} at end`;
}

function header(ctx: StartupContext, machine: Machine): string {
  return `# regtest-harness startup benchmark

${machineLine(machine)}
bitcoind: ${machine.bitcoind} (${machine.bitcoindPath})
runs:     ${ctx.runs} per figure, median shown (one untimed bare start first, to warm the page cache)

Method (every figure is timed from just before the first datadir/conf is written and bitcoind spawned):
- ready: until every node answers getblockchaininfo.
    harness = N BitcoinNode.start() in parallel (as Network.start does); ports reserved before the clock.
              Timed: datadir, conf, port check, spawn, the harness's RPC wait (backoff 10 ms → 50 ms).
    bare    = the same binary spawned directly: minimal conf (same isolation flags, -rpcport, cookie
              auth), raw JSON-RPC over fetch, polled every 5 ms; ports also reserved before the clock.
- handshakes: line topology (node i dials i-1 with addnode onetry), until every edge is complete on both sides.
    harness = the whole Network.start (also its temp dir and port reservation), connect mode rpc;
              completion = getpeerinfo shows a received pong on both sides (harness backoff 10 → 250 ms).
    bare    = the bare start above, then addnode onetry, getpeerinfo polled every 5 ms for a pong both sides.
    log tracer = Network.start with tracer: new LogTracer(); completion = traced verack events, no RPC polling.
- ratio = harness median / bare median (log tracer: against the bare handshake).
Other work on this machine makes the figures noisy: compare ratios from one run, not figures across runs.`;
}

const COLUMNS: Column[] = [
  { header: 'nodes' },
  { header: FIGURE_LABELS.readyHarness },
  { header: FIGURE_LABELS.readyBare },
  { header: 'ratio' },
  { header: FIGURE_LABELS.handshakeHarness },
  { header: FIGURE_LABELS.handshakeBare },
  { header: 'ratio' },
  { header: FIGURE_LABELS.handshakeLogTracer },
  { header: 'ratio' },
];

function medianTable(results: readonly NodeCountResult[]): string {
  return renderTable(
    COLUMNS,
    results.map(({ nodes, summaries: s }) => [
      String(nodes),
      formatMs(s.readyHarness?.median),
      formatMs(s.readyBare?.median),
      formatRatio(ratio(s.readyHarness, s.readyBare)),
      formatMs(s.handshakeHarness?.median),
      formatMs(s.handshakeBare?.median),
      formatRatio(ratio(s.handshakeHarness, s.handshakeBare)),
      formatMs(s.handshakeLogTracer?.median),
      formatRatio(ratio(s.handshakeLogTracer, s.handshakeBare)),
    ]),
  );
}

function spreadTable(results: readonly NodeCountResult[]): string {
  const columns: Column[] = [{ header: 'nodes' }, ...FIGURES.map((figure) => ({ header: FIGURE_LABELS[figure] }))];
  return renderTable(
    columns,
    results.map(({ nodes, summaries }) => [String(nodes), ...FIGURES.map((f) => formatRange(summaries[f]?.min, summaries[f]?.max))]),
  );
}

function toJson(runs: number, machine: Machine, results: readonly NodeCountResult[] | undefined, tracer: TracerFigures | undefined): string {
  return `${JSON.stringify(
    {
      benchmark: results ? 'startup' : 'tracer',
      date: new Date().toISOString(),
      runs,
      machine,
      unit: 'ms',
      results: results?.map(({ nodes, summaries: s, samples }) => ({
        nodes,
        figures: Object.fromEntries(Object.entries(s).map(([figure, summary]) => [figure, { ...summary, samples: samples[figure as Figure] }])),
        ratios: {
          ready: ratio(s.readyHarness, s.readyBare) ?? null,
          handshakes: ratio(s.handshakeHarness, s.handshakeBare) ?? null,
          handshakesLogTracer: ratio(s.handshakeLogTracer, s.handshakeBare) ?? null,
        },
      })),
      ...(tracer ? { tracer } : {}),
    },
    null,
    2,
  )}\n`;
}

// ── Main ─────────────────────────────────────────────────────────────────────

async function main(): Promise<number> {
  let args: Args | 'help';
  try {
    args = parseCliArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args === 'help') {
    console.log(USAGE);
    return 0;
  }
  const progress = (line: string): void => console.error(`[bench] ${line}`);
  const ctx: BenchContext = { runs: args.runs, quick: args.quick, progress };
  const machine = machineInfo();
  // Decided before the startup section, so --tracer alone fails (or skips) at once rather than after minutes.
  const tracerSkip = args.tracer === 'skip' ? undefined : tracerSkipReason();
  if (args.tracer === 'only' && tracerSkip) {
    console.error(`--tracer: cannot run here: ${tracerSkip}`);
    return 1;
  }

  let whole: WholeProcessFigures | undefined;
  if (args.wholeOnly || args.tracer !== 'only') {
    const binary = await resolveBitcoind({ ...(args.bitcoind === undefined ? {} : { bitcoind: args.bitcoind }), onProgress: progress });
    const usdt = await usdtReadiness(binary.elfPath).catch((error: Error) => ({ ok: false, reason: error.message }));
    whole = await runWholeProcessBench(ctx, binary, usdt);
    machine.loadAverage1mEnd = loadNow();
    console.log(`## Whole process (start to exit), medians of ${ctx.runs} interleaved run(s), ${binary.versionLine}\n`);
    console.log(`${machineLine(machine)}\n`);
    console.log(renderWholeProcess(whole));
    console.log('');
  }

  let results: NodeCountResult[] | undefined;
  if (!args.wholeOnly && args.tracer !== 'only') {
    const binary = await resolveBitcoind({ ...(args.bitcoind === undefined ? {} : { bitcoind: args.bitcoind }), onProgress: progress });
    const startup: StartupContext = { ...ctx, binary };
    machine.bitcoind = binary.versionLine;
    machine.bitcoindPath = binary.path;
    progress(binary.reason);
    await timeBareNodes(binary.path, 1, { handshakes: false }); // warm-up, not counted
    results = [];
    for (const count of args.nodeCounts) results.push(await measureNodeCount(startup, count));
    // Load on a shared machine is the main source of noise: show it next to the figures.
    machine.loadAverage1mEnd = loadNow();
    console.log(header(startup, machine));
    console.log(`\nMedians of ${ctx.runs} run(s):\n`);
    console.log(medianTable(results));
    console.log(`\nSpread (min–max of the ${ctx.runs} run(s)):\n`);
    console.log(spreadTable(results));
  }

  let tracer: TracerFigures | undefined;
  if (!args.wholeOnly && args.tracer !== 'skip') {
    if (args.tracer === 'only') console.log('# regtest-harness tracer benchmark');
    console.log('');
    if (tracerSkip) {
      console.log(`## Tracer: skipped (${tracerSkip})`);
    } else {
      tracer = await runTracerBench(ctx);
      machine.loadAverage1mEnd = loadNow();
      if (args.tracer === 'only') console.log(`${machineLine(machine)}\n`);
      console.log(renderTracerReport(tracer, ctx.runs));
    }
  }

  if (args.jsonPath) {
    await writeFile(args.jsonPath, JSON.stringify({ ...(JSON.parse(toJson(ctx.runs, machine, results, tracer)) as object), wholeProcess: whole }, null, 2));
    progress(`figures written to ${args.jsonPath}`);
  }
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // A harness error carries its fix and evidence (debug.log tail); print them, not just the message.
    console.error(`bench failed: ${isHarnessError(error) ? error.toString() : error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
