import { resolveBitcoind } from '../../binary.js';
import { chooseTracer, parseTracerChoice, TRACER_CHOICES } from '../../doctor/choose-tracer.js';
import { Network } from '../../network.js';
import { describeExit, type ExitInfo } from '../../common/child-process/index.js';
import type { BitcoinNode } from '../../node.js';
import { formatEdge, parseTopology } from '../../topology.js';
import { formatEventJson } from '../../../tracing/ndjson.js';
import { ReorderBuffer } from '../../../tracing/report/reorder.js';
import { formatTimelineLine, timelineContext } from '../../../tracing/report/timeline.js';
import type { TraceEvent } from '../../../tracing/events.js';
import { EXIT_EXPECTATION_FAILED, EXIT_OK, parseCommandArgs, writeLine, type Command, type CommandIO } from '../command.js';
import { connectModeFlag, nodesFlag, NETWORK_FLAGS, NETWORK_FLAGS_HELP, v2transportFlag } from '../network-flags.js';
import { writeUpState } from '../up-state.js';

const help = `Usage: regtest-harness up [options]

Start a regtest network, print each node's ports, datadir and a ready-to-paste bitcoin-cli line,
then wait for Ctrl-C (SIGINT) or SIGTERM and stop every node and remove the datadirs (unless
--keep). Drive the nodes from another terminal with bitcoin-cli or 'regtest-harness cli <node>
<method> [params…]'. A node that exits on its own (crash, kill) is reported at once with its
debug.log tail; the other nodes are stopped, the datadirs kept, and up exits 1.

Options:
${NETWORK_FLAGS_HELP}
  --trace [auto|usdt|log]   stream a live timeline of every message the nodes exchange
                            (default tracer when given alone: auto)
  --json                    print the network as one JSON object on stdout; with --trace, the
                            trace events follow as NDJSON, one per line (the shape of run --json)
  -h, --help                show this help

Exit codes: 0 stopped cleanly after Ctrl-C/SIGTERM, 1 a node exited unexpectedly (datadirs kept),
2 usage or environment error (one line naming the cause and the fix), 130 interrupted while still
starting (everything started is removed).`;

/** `--trace` may stand alone: give it its default value so parseArgs sees `--trace=auto`. */
function normalizeTraceFlag(argv: readonly string[]): string[] {
  return argv.flatMap((arg, i) => (arg === '--trace' && !(TRACER_CHOICES as readonly string[]).includes(argv[i + 1] ?? '') ? ['--trace=auto'] : [arg]));
}

async function run(argv: string[], io: CommandIO): Promise<number> {
  const { values } = parseCommandArgs('up', normalizeTraceFlag(argv), { ...NETWORK_FLAGS, json: { type: 'boolean' }, trace: { type: 'string' } });
  const nodes = nodesFlag('up', values.nodes as string | undefined, 2);
  const v2transport = v2transportFlag('up', values.v2transport as string | undefined);
  const connectMode = connectModeFlag('up', values['connect-mode'] as string | undefined);
  const topology = (values.topology as string | undefined) ?? 'line';
  const traceChoice = values.trace === undefined ? undefined : parseTracerChoice(values.trace as string);
  const json = Boolean(values.json);
  parseTopology(topology, nodes); // bad flags fail before anything is downloaded or started
  const binary = await resolveBitcoind({ ...(values.bitcoind ? { bitcoind: values.bitcoind as string } : {}), signal: io.signal, onProgress: (line) => writeLine(io.stderr, line) });
  writeLine(io.stderr, binary.reason);
  const chosen = traceChoice === undefined ? undefined : await chooseTracer(traceChoice, binary);
  if (chosen) writeLine(io.stderr, chosen.reason);

  const timeline = timelineContext({ stream: io.stdout as { isTTY?: boolean } });
  const live = new ReorderBuffer((event: TraceEvent) => writeLine(io.stdout, formatTimelineLine(event, timeline)));
  const watch = new NodeWatch();
  const network = await Network.start({
    nodes,
    topology,
    connectMode,
    signal: io.signal,
    bitcoind: binary,
    keep: Boolean(values.keep),
    ...(chosen ? { tracer: chosen.tracer, onEvent: (event: TraceEvent) => (json ? writeLine(io.stdout, formatEventJson(event)) : live.push(event)) } : {}),
    ...(values['datadir-root'] ? { rootDir: values['datadir-root'] as string } : {}),
    ...(v2transport === undefined ? {} : { v2transport }),
  });
  watch.arm(network);
  let removeState: (() => void) | undefined;
  let crash: { node: BitcoinNode; exit: ExitInfo } | undefined;
  try {
    removeState = writeUpState({
      pid: process.pid,
      dir: network.dir,
      bitcoind: binary.path,
      nodes: network.nodes.map((n) => ({ index: n.index, p2pPort: n.p2pPort, rpcPort: n.rpcPort, datadir: n.datadir })),
    });
    if (json) {
      writeLine(io.stdout, JSON.stringify(describe(network)));
    } else {
      writeLine(io.stdout, `regtest network up (pid ${process.pid}): ${network.nodes.length} node(s), edges ${network.edges.map(formatEdge).join(',') || '(none)'}, connect mode ${network.connectMode}`);
      for (const node of network.nodes) {
        writeLine(io.stdout, `node${node.index}  pid ${node.pid}  p2p 127.0.0.1:${node.p2pPort}  rpc 127.0.0.1:${node.rpcPort}  datadir ${node.datadir}`);
        writeLine(io.stdout, `  ${bitcoinCliLine(node)}`);
      }
      writeLine(io.stdout, `Drive a node: regtest-harness cli <node> <method> [params…]  (e.g. regtest-harness cli 1 getpeerinfo)`);
      writeLine(io.stdout, `Press Ctrl-C to stop the nodes and ${values.keep ? 'keep' : 'remove'} the datadirs.`);
    }
    crash = await watch.untilCrashOr(io.signal);
    if (crash) {
      network.keepDatadirs();
      live.flush();
      writeLine(io.stderr, `${crash.node.name} exited unexpectedly (${describeExit(crash.exit)})`);
      writeLine(io.stderr, `── ${crash.node.name} debug.log (last 30 lines) ──\n${await crash.node.logTail(30)}`);
    }
  } finally {
    removeState?.();
    live.flush();
    writeLine(io.stderr, crash ? 'stopping the other nodes…' : 'stopping…');
    await network.dispose();
    live.flush();
    if (crash || values.keep) writeLine(io.stderr, `stopped; datadirs kept in ${network.dir}`);
    else writeLine(io.stderr, 'stopped; datadirs removed');
  }
  return crash ? EXIT_EXPECTATION_FAILED : EXIT_OK;
}

/**
 * The first node that exits on its own, as an event (the child process's exit, from node.ts),
 * raced against Ctrl-C. Exits before the network is up are start-up errors and are thrown there.
 */
class NodeWatch {
  private first: { node: BitcoinNode; exit: ExitInfo } | undefined;
  private wake: (() => void) | undefined;

  /** Listen from now on (exits during start-up, e.g. a bind retry, are the start's business), and count one that already happened. */
  arm(network: Network): void {
    network.onUnexpectedExit((node, exit) => this.exited(node, exit));
    const dead = network.nodes.find((node) => !node.running && node.lastExit);
    if (dead?.lastExit) this.exited(dead, dead.lastExit);
  }

  private exited(node: BitcoinNode, exit: ExitInfo): void {
    this.first ??= { node, exit };
    this.wake?.();
  }

  untilCrashOr(signal: AbortSignal): Promise<{ node: BitcoinNode; exit: ExitInfo } | undefined> {
    return new Promise((resolve) => {
      const done = () => {
        signal.removeEventListener('abort', done);
        this.wake = undefined;
        resolve(signal.aborted ? undefined : this.first);
      };
      if (this.first || signal.aborted) return done();
      this.wake = done;
      signal.addEventListener('abort', done, { once: true });
    });
  }
}

/** bitcoind's own datadir conf (regtest, rpcport) and its RPC cookie are all bitcoin-cli needs. */
function bitcoinCliLine(node: BitcoinNode): string {
  return `bitcoin-cli -datadir=${shellQuote(node.datadir)} getpeerinfo`;
}

function shellQuote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}

function describe(network: Network) {
  return {
    pid: process.pid,
    dir: network.dir,
    connectMode: network.connectMode,
    edges: network.edges,
    bitcoind: { path: network.binary.path, version: network.binary.version },
    nodes: network.nodes.map((node) => ({ index: node.index, pid: node.pid, p2pPort: node.p2pPort, rpcPort: node.rpcPort, datadir: node.datadir, bitcoinCli: bitcoinCliLine(node) })),
  };
}

export const upCommand: Command = { name: 'up', summary: 'start a regtest network (optionally traced live) and keep it up until Ctrl-C', help, run };
