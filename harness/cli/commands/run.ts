import { constants } from 'node:fs';
import { access, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { resolveBitcoind, type BitcoindBinary } from '../../binary.js';
import { checkScenarioOptions, describeFailures, findScenario, notApplicableError, notApplicableReason, runScenario, type ScenarioResult } from '../../../scenarios/index.js';
import { parseTracerChoice } from '../../doctor/choose-tracer.js';
import { formatEventJson } from '../../../tracing/ndjson.js';
import { readProbeNotes } from '../../../tracing/elf-notes.js';
import { diffProbes, formatProbeDiff } from '../../../tracing/probe-diff.js';
import { renderReport } from '../../../tracing/report/html.js';
import { ReorderBuffer } from '../../../tracing/report/reorder.js';
import { formatTimelineLine, timelineContext } from '../../../tracing/report/timeline.js';
import { usageError } from '../../common/errors.js';
import { MAX_NODES } from '../../node-count.js';
import { EXIT_OK, parseCommandArgs, writeLine, type Command, type CommandIO } from '../command.js';
import { ExpectationFailed } from '../expectation.js';
import { connectModeFlag, nodesFlag, v2transportFlag } from '../network-flags.js';

const help = `Usage: regtest-harness run <scenario> [options]

Start a network, attach the tracer before any node connects, run the scenario's actions and
check its expectations on the traced messages. 'regtest-harness scenarios' lists scenarios.

Options:
  --nodes N                 number of nodes, up to ${MAX_NODES} (default: the scenario's)
  --topology SPEC           edge list "1>0,2>1" (node 1 dials node 0) or a shape: line, star, ring, mesh
  --connect-mode MODE       rpc (addnode … onetry once all are up; default) or startup (-connect=)
  --tracer auto|usdt|log    usdt: bpftrace on Core's tracepoints (root, a binary with probes);
                            log: the nodes' debug.log; auto (default): usdt when it can run, else log
  --bitcoind PATH[,PATH…]   the bitcoind to run; several: the scenario runs on each, reported per
                            binary (n/a where the scenario does not apply to it), with the
                            tracepoint differences between them
  --json                    stdout is NDJSON trace events only (one per line, the event shape);
                            with several binaries each event also carries "run": <binary index>
  --report FILE.html        write a self-contained HTML page: sequence diagram, decoded payloads,
                            teaching notes (several binaries: FILE-<n>.html)
  --v2transport on|off      force BIP324 v2 transport on or off (default: the scenario's choice)
  --keep                    keep the datadirs and print where they are
  --datadir-root DIR        create the network's directory under DIR (default: the system temp dir)
  --allow-trace-loss        lost trace events warn instead of failing the run
  -h, --help                show this help

Exit codes: 0 every expectation held, 1 one did not (the diff is printed), 2 usage or environment error
or the scenario is not applicable to the binary (to none of them, with several), 130 interrupted by Ctrl-C/SIGTERM (after stopping and removing everything it started).`;

async function run(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    'run',
    argv,
    {
      nodes: { type: 'string' },
      topology: { type: 'string' },
      'connect-mode': { type: 'string' },
      tracer: { type: 'string' },
      bitcoind: { type: 'string' },
      json: { type: 'boolean' },
      report: { type: 'string' },
      keep: { type: 'boolean' },
      'datadir-root': { type: 'string' },
      'allow-trace-loss': { type: 'boolean' },
      v2transport: { type: 'string' },
    },
    true,
  );
  if (positionals.length !== 1) throw usageError(positionals.length === 0 ? 'which scenario? none given' : `one scenario at a time, got ${positionals.join(' ')}`, "pass a scenario name, e.g. 'regtest-harness run handshake' (regtest-harness scenarios lists them)");
  const scenario = findScenario(positionals[0]!);
  const tracer = parseTracerChoice(values.tracer as string | undefined);
  const nodes = values.nodes === undefined ? undefined : nodesFlag('run', values.nodes as string, scenario.defaults.nodes, scenario.minNodes);
  const connectMode = values['connect-mode'] === undefined ? undefined : connectModeFlag('run', values['connect-mode'] as string);
  const v2transport = v2transportFlag('run', values.v2transport as string | undefined);
  const json = Boolean(values.json);
  const human = json ? io.stderr : io.stdout; // --json keeps stdout for events only
  if (values.report) await assertWritable(values.report as string);
  // Every flag is checked before a bitcoind is resolved, which may mean a download.
  checkScenarioOptions(scenario, { ...(nodes === undefined ? {} : { nodes }), ...(values.topology ? { topology: values.topology as string } : {}) });
  const paths = ((values.bitcoind as string | undefined) ?? '').split(',').map((p) => p.trim()).filter(Boolean);
  const binaries: BitcoindBinary[] = [];
  for (const path of paths.length > 0 ? paths : [undefined]) {
    binaries.push(await resolveBitcoind({ ...(path ? { bitcoind: path } : {}), signal: io.signal, onProgress: (line) => writeLine(io.stderr, line) }));
  }
  // Not applicable anywhere: exit 2 with one line, before anything starts.
  const reasons = binaries.map((binary) => notApplicableReason(scenario, binary));
  if (reasons.every((reason) => reason !== undefined)) throw notApplicableError(scenario, binaries[0]!, reasons[0]!);
  for (const binary of binaries) writeLine(io.stderr, binary.reason);

  const results: BinaryOutcome[] = [];
  for (const [index, binary] of binaries.entries()) {
    if (binaries.length > 1) writeLine(human, `\n═══ ${scenario.name} on ${binary.versionLine} (${binary.path}) ═══`);
    const notApplicable = reasons[index];
    if (notApplicable !== undefined) {
      writeLine(human, `n/a ${scenario.name}: not applicable to this binary: ${notApplicable}`);
      results.push({ binary, notApplicable });
      continue;
    }
    const timeline = timelineContext({ stream: io.stdout as { isTTY?: boolean } });
    const live = new ReorderBuffer((event) => writeLine(io.stdout, formatTimelineLine(event, timeline)));
    const result = await runScenario(scenario, {
      ...(nodes === undefined ? {} : { nodes }),
      ...(values.topology ? { topology: values.topology as string } : {}),
      ...(connectMode ? { connectMode } : {}),
      tracer,
      bitcoind: binary,
      keep: Boolean(values.keep),
      ...(values['datadir-root'] ? { rootDir: values['datadir-root'] as string } : {}),
      allowTraceLoss: Boolean(values['allow-trace-loss']),
      ...(v2transport === undefined ? {} : { networkOverrides: { v2transport } }),
      log: (line) => writeLine(io.stderr, line),
      signal: io.signal,
      onEvent: (event) => {
        if (json) writeLine(io.stdout, formatEventJson(event, binaries.length > 1 ? { run: index } : {}));
        else live.push(event);
      },
    }).finally(() => live.flush());
    results.push(result);
    printChecks(human, result);
    if (values.report) {
      const file = binaries.length > 1 ? (values.report as string).replace(/(\.html?)?$/i, `-${index + 1}$1`) : (values.report as string);
      await writeFile(file, renderReport({
        title: `${scenario.name} on ${binary.versionLine}`,
        events: result.events,
        nodes: result.nodes,
        scenario: `${scenario.name}: ${scenario.summary}`,
        outcome: { passed: result.passed, details: `${result.checks.filter((c) => c.pass).length}/${result.checks.length} expectations held · tracer ${result.tracer}` },
      }));
      writeLine(io.stderr, `report written to ${file}`);
    }
  }
  if (binaries.length > 1) await printAcrossVersions(human, results);

  const failed = results.filter((r): r is ScenarioResult => 'passed' in r && !r.passed);
  if (failed.length > 0) {
    throw new ExpectationFailed(failed.map((r) => `${scenario.name} on ${r.binary.versionLine}: expectations failed\n\n${describeFailures(r)}${r.failureBundle ? `\n\n${r.failureBundle}` : ''}`).join('\n\n'));
  }
  return EXIT_OK;
}

/** One binary's outcome: the scenario's result, or why it does not apply there. */
type BinaryOutcome = ScenarioResult | { binary: BitcoindBinary; notApplicable: string };

/** A report path that cannot be written fails now, not after the whole run. */
async function assertWritable(file: string): Promise<void> {
  try {
    await access(dirname(resolve(file)), constants.W_OK);
  } catch (error) {
    throw usageError(`cannot write the report to ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, 'pass --report a path in a writable directory');
  }
}

function printChecks(out: NodeJS.WritableStream, result: ScenarioResult): void {
  writeLine(out, '');
  for (const check of result.checks) writeLine(out, `${check.pass ? '✓' : '✗'} ${check.claim}`);
  const held = result.checks.filter((c) => c.pass).length;
  writeLine(out, `${result.passed ? 'PASS' : 'FAIL'} ${result.scenario}: ${held}/${result.checks.length} expectations held, ${result.events.length} events (${result.tracer} tracer)`);
}

/** Per-binary outcome, then the tracepoint differences between consecutive binaries. */
async function printAcrossVersions(out: NodeJS.WritableStream, results: readonly BinaryOutcome[]): Promise<void> {
  writeLine(out, '\n═══ across versions ═══');
  for (const r of results) {
    if ('notApplicable' in r) writeLine(out, `n/a   ${r.binary.versionLine}  not applicable: ${r.notApplicable}  (${r.binary.path})`);
    else writeLine(out, `${r.passed ? 'PASS' : 'FAIL'}  ${r.binary.versionLine}  ${r.events.length} events, tracer ${r.tracer}  (${r.binary.path})`);
  }
  for (let i = 1; i < results.length; i++) {
    const a = results[i - 1]!.binary;
    const b = results[i]!.binary;
    const [notesA, notesB] = await Promise.all([readProbeNotes(a.elfPath).catch(() => []), readProbeNotes(b.elfPath).catch(() => [])]);
    writeLine(out, `\ntracepoints ${a.elfPath} → ${b.elfPath}:`);
    writeLine(out, notesA.length === 0 && notesB.length === 0 ? '  neither binary carries USDT probes' : formatProbeDiff(diffProbes(notesA, notesB), a.elfPath, b.elfPath));
  }
}

export const runCommand: Command = { name: 'run', summary: 'run a scenario: traced network, actions, expectations (exit 1 when one fails)', help, run };
