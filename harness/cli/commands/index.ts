import type { Command } from '../command.js';

/**
 * A command as the top-level help lists it; its module (and what that imports: the network,
 * bitcoin-core, execa…) is loaded only when the command runs, so `regtest-harness scenarios` or
 * `--help` do not pay for `run`. test/cli-commands.test.ts checks each entry against its module.
 */
export interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<Command>;
}

/** Every CLI command, in the order --help lists them. */
export const commands: CommandEntry[] = [
  { name: 'provision', summary: 'find or download a bitcoind (official release or Debian) and print its path', load: async () => (await import('./provision.js')).provisionCommand },
  { name: 'up', summary: 'start a regtest network (optionally traced live) and keep it up until Ctrl-C', load: async () => (await import('./up.js')).upCommand },
  { name: 'cli', summary: "call an RPC on a node of the running 'up' network (bitcoin-cli for those without it)", load: async () => (await import('./cli.js')).cliCommand },
  { name: 'run', summary: 'run a scenario: traced network, actions, expectations (exit 1 when one fails)', load: async () => (await import('./run.js')).runCommand },
  { name: 'scenarios', summary: 'list the scenarios run knows', load: async () => (await import('./scenarios.js')).scenariosCommand },
  { name: 'probes', summary: 'list the USDT probes of a binary, diff two (--diff a b), or check one against the catalog (--check)', load: async () => (await import('./probes.js')).probesCommand },
  {
    name: 'conformance',
    summary: "fire all of Core's tracepoints on real nodes and check every argument, per binary (matrix)",
    load: async () => (await import('./conformance.js')).conformanceCommand,
  },
  { name: 'doctor', summary: "check kernel, bpftrace, privileges and bitcoind; say which tracer auto picks", load: async () => (await import('./doctor.js')).doctorCommand },
];
