import { SCENARIOS } from '../../../scenarios/index.js';
import { EXIT_OK, parseCommandArgs, writeLine, type Command, type CommandIO } from '../command.js';

const help = `Usage: regtest-harness scenarios [--json]

List the scenarios 'regtest-harness run <scenario>' knows, with their default size and topology.`;

async function run(argv: string[], io: CommandIO): Promise<number> {
  const { values } = parseCommandArgs('scenarios', argv, { json: { type: 'boolean' } });
  if (values.json) {
    writeLine(io.stdout, JSON.stringify(SCENARIOS.map((s) => ({ name: s.name, summary: s.summary, nodes: s.defaults.nodes, topology: s.defaults.topology, minNodes: s.minNodes }))));
    return EXIT_OK;
  }
  const width = Math.max(...SCENARIOS.map((s) => s.name.length));
  for (const s of SCENARIOS) writeLine(io.stdout, `${s.name.padEnd(width)}  ${s.summary} (default: ${s.defaults.nodes} nodes, ${s.defaults.topology})`);
  return EXIT_OK;
}

export const scenariosCommand: Command = { name: 'scenarios', summary: 'list the scenarios run knows', help, run };
