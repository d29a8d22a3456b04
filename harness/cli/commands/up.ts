import { resolveBitcoind } from '../../binary.js';
import { Network } from '../../network.js';
import { formatEdge, parseTopology } from '../../topology.js';
import { EXIT_OK, parseCommandArgs, writeLine, type Command, type CommandIO } from '../command.js';
import { connectModeFlag, nodesFlag, NETWORK_FLAGS, NETWORK_FLAGS_HELP, v2transportFlag } from '../network-flags.js';

const help = `Usage: regtest-harness up [options]

Start a regtest network, print each node's index, ports and datadir, then wait for Ctrl-C
(SIGINT) or SIGTERM and stop every node and remove the datadirs (unless --keep).

Options:
${NETWORK_FLAGS_HELP}
  --json                    print the network as one JSON object on stdout
  -h, --help                show this help

Exit codes: 0 stopped cleanly after Ctrl-C/SIGTERM, 2 usage or environment error (one line naming
the cause and the fix), 130 interrupted while still starting (everything started is removed).`;

async function run(argv: string[], io: CommandIO): Promise<number> {
  const { values } = parseCommandArgs('up', argv, { ...NETWORK_FLAGS, json: { type: 'boolean' } });
  const nodes = nodesFlag('up', values.nodes as string | undefined, 2);
  const v2transport = v2transportFlag('up', values.v2transport as string | undefined);
  const connectMode = connectModeFlag('up', values['connect-mode'] as string | undefined);
  const topology = (values.topology as string | undefined) ?? 'line';
  parseTopology(topology, nodes); // bad flags fail before anything is downloaded or started
  const binary = await resolveBitcoind({ ...(values.bitcoind ? { bitcoind: values.bitcoind as string } : {}), signal: io.signal, onProgress: (line) => writeLine(io.stderr, line) });
  writeLine(io.stderr, binary.reason);
  const network = await Network.start({
    nodes,
    topology,
    connectMode,
    signal: io.signal,
    bitcoind: binary,
    keep: Boolean(values.keep),
    ...(values['datadir-root'] ? { rootDir: values['datadir-root'] as string } : {}),
    ...(v2transport === undefined ? {} : { v2transport }),
  });
  try {
    if (values.json) {
      writeLine(io.stdout, JSON.stringify(describe(network)));
    } else {
      writeLine(io.stdout, `regtest network up: ${network.nodes.length} node(s), edges ${network.edges.map(formatEdge).join(',') || '(none)'}, connect mode ${network.connectMode}`);
      for (const node of network.nodes) {
        writeLine(io.stdout, `node${node.index}  pid ${node.pid}  p2p 127.0.0.1:${node.p2pPort}  rpc 127.0.0.1:${node.rpcPort}  datadir ${node.datadir}`);
      }
      writeLine(io.stdout, 'Press Ctrl-C to stop the nodes and remove the datadirs.');
    }
    await new Promise<void>((resolve) => {
      if (io.signal.aborted) resolve();
      io.signal.addEventListener('abort', () => resolve(), { once: true });
    });
  } finally {
    writeLine(io.stderr, 'stopping…');
    await network.dispose();
    writeLine(io.stderr, values.keep ? `stopped; datadirs kept in ${network.dir}` : 'stopped; datadirs removed');
  }
  return EXIT_OK;
}

function describe(network: Network) {
  return {
    dir: network.dir,
    connectMode: network.connectMode,
    edges: network.edges,
    bitcoind: { path: network.binary.path, version: network.binary.version },
    nodes: network.nodes.map((node) => ({ index: node.index, pid: node.pid, p2pPort: node.p2pPort, rpcPort: node.rpcPort, datadir: node.datadir })),
  };
}

export const upCommand: Command = { name: 'up', summary: 'start a regtest network and keep it up until Ctrl-C', help, run };
