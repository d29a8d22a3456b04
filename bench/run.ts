/**
 * `npm run bench`: how long the harness takes to bring up regtest networks, beside a bare
 * bitcoind baseline started the way a hand-written script would. Prints a table on stdout
 * (progress on stderr); `--json PATH` also writes the figures.
 */
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { resolveBitcoind } from '../harness/binary.js';
import { isHarnessError } from '../harness/errors.js';
import { timeBareNodes } from './bare-bitcoind.js';
import type { BenchContext } from './context.js';
import { timeHarnessReady, timeNetworkHandshakes } from './harness-timings.js';
import { ratio, summarize, type Summary } from './stats.js';
import { formatMs, formatRange, formatRatio, renderTable, type Column } from './table.js';

const USAGE = `usage: npm run bench -- [options]    (or: node dist/bench/run.js [options])
  --runs N          timed repetitions per figure (default 5; the median is shown)
  --quick           2 runs per figure, for CI-like runs (--runs wins if both are given)
  --nodes LIST      node counts, comma-separated (default 1,2,4,8)
  --json PATH       also write the figures as JSON to PATH
  --bitcoind PATH   the bitcoind to use (default: the harness's usual resolution, e.g. $BITCOIND)
  --tracer          tracer benchmarks (not written yet: bench/tracer.ts)`;

interface Args {
  runs: number;
  nodeCounts: number[];
  jsonPath: string | undefined;
  bitcoind: string | undefined;
  tracer: boolean;
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
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const runs = values.runs === undefined ? (values.quick ? 2 : 5) : positiveInteger(values.runs, '--runs');
  const nodeCounts = values.nodes.split(',').map((part) => positiveInteger(part.trim(), '--nodes'));
  return { runs, nodeCounts, jsonPath: values.json, bitcoind: values.bitcoind, tracer: values.tracer };
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
function stepsFor(ctx: BenchContext, count: number): Step[] {
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

async function measureNodeCount(ctx: BenchContext, count: number): Promise<NodeCountResult> {
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

function machineInfo(ctx: BenchContext): Record<string, string | number> {
  const cpuList = cpus();
  return {
    cores: cpuList.length,
    cpu: cpuList[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${process.platform} ${release()}`,
    node: process.version,
    loadAverage1m: Math.round(loadavg()[0]! * 100) / 100,
    bitcoind: ctx.binary.versionLine,
    bitcoindPath: ctx.binary.path,
  };
}

function header(ctx: BenchContext, machine: Record<string, string | number>): string {
  return `# regtest-harness startup benchmark

machine:  ${machine.cores} cores (${machine.cpu}), ${machine.memoryGiB} GiB, ${machine.kernel}, Node ${machine.node}, load avg ${machine.loadAverage1m} at start, ${machine.loadAverage1mEnd} at end
bitcoind: ${machine.bitcoind} (${machine.bitcoindPath})
runs:     ${ctx.runs} per figure, median shown (one untimed bare start first, to warm the page cache)

Method (every figure is timed from just before the first datadir/conf is written and bitcoind spawned):
- ready: until every node answers getblockchaininfo.
    harness = N BitcoinNode.start() in parallel (as Network.start does); ports reserved before the clock.
              Timed: datadir, conf, port check, spawn, the harness's RPC wait (backoff 20 ms → 200 ms).
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

function toJson(ctx: BenchContext, machine: Record<string, string | number>, results: readonly NodeCountResult[]): string {
  return `${JSON.stringify(
    {
      benchmark: 'startup',
      date: new Date().toISOString(),
      runs: ctx.runs,
      machine,
      unit: 'ms',
      results: results.map(({ nodes, summaries: s, samples }) => ({
        nodes,
        figures: Object.fromEntries(Object.entries(s).map(([figure, summary]) => [figure, { ...summary, samples: samples[figure as Figure] }])),
        ratios: {
          ready: ratio(s.readyHarness, s.readyBare) ?? null,
          handshakes: ratio(s.handshakeHarness, s.handshakeBare) ?? null,
          handshakesLogTracer: ratio(s.handshakeLogTracer, s.handshakeBare) ?? null,
        },
      })),
      // TODO(tracer bench): a `tracer` key with bench/tracer.ts's figures when --tracer is given.
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
  // TODO(tracer bench): extension point for bench/tracer.ts. It will export something like
  // `runTracerBench(ctx: BenchContext): Promise<TracerFigures>` measuring bpftrace attach latency
  // (1 and 8 processes) and end-to-end events/s with zero loss. Call it after the startup section
  // when --tracer is given, print its table under the startup one, and add it to the JSON.
  // Until then --tracer fails at once rather than after minutes of startup runs.
  if (args.tracer) {
    console.error('--tracer: the tracer benchmarks are not written yet (bench/tracer.ts)');
    return 2;
  }

  const progress = (line: string): void => console.error(`[bench] ${line}`);
  const binary = await resolveBitcoind({ ...(args.bitcoind === undefined ? {} : { bitcoind: args.bitcoind }), onProgress: progress });
  const ctx: BenchContext = { binary, runs: args.runs, progress };
  const machine = machineInfo(ctx);
  progress(binary.reason);

  await timeBareNodes(binary.path, 1, { handshakes: false }); // warm-up, not counted
  const results: NodeCountResult[] = [];
  for (const count of args.nodeCounts) results.push(await measureNodeCount(ctx, count));
  // Load on a shared machine is the main source of noise: show it next to the figures.
  machine.loadAverage1mEnd = Math.round(loadavg()[0]! * 100) / 100;

  console.log(header(ctx, machine));
  console.log(`\nMedians of ${ctx.runs} run(s):\n`);
  console.log(medianTable(results));
  console.log(`\nSpread (min–max of the ${ctx.runs} run(s)):\n`);
  console.log(spreadTable(results));
  if (args.jsonPath) {
    await writeFile(args.jsonPath, toJson(ctx, machine, results));
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
