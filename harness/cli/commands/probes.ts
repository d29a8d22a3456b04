/**
 * `regtest-harness probes`: list the USDT probes a binary carries, or diff two binaries' probes
 * (e.g. Core v28.1 vs v29.0) before writing tracer scripts against them.
 */
import { readProbeNotes, type ProbeNote } from '../../../tracing/elf-notes.js';
import { collapseProbes, diffProbes, formatProbeDiff, probeDiffJson } from '../../../tracing/probe-diff.js';
import { checkProbes, formatProbeCheck } from '../../../tracing/probe-check.js';
import { damagedProbeSites, describeDamagedSite } from '../../../tracing/probe-sites.js';
import { identifyBinary } from '../../binary.js';
import { parseVersion } from '../../common/version.js';
import { usageError } from '../../common/errors.js';
import { EXIT_EXPECTATION_FAILED, EXIT_OK, parseCommandArgs, writeLine, type Command, type CommandIO } from '../command.js';

const help = `regtest-harness probes — list or compare the USDT probes (.note.stapsdt) of ELF binaries

Usage:
  regtest-harness probes <binary> [--json]
  regtest-harness probes --diff <a> <b> [--json]
  regtest-harness probes <binary> --check [--core-version X.Y] [--json]

Reads the ELF notes directly (readelf is not needed). Values are as stored in the notes, the
same as 'readelf -n' prints for executables and shared libraries.

Options:
  --diff    compare the probes of binary <a> with binary <b>
  --check   compare every probe's argument count, sizes and signedness with the catalog's layout
            for the binary's Core version (read from '<binary> -version')
  --core-version X.Y
            with --check: the Core version whose layout to check against, for binaries that are
            not bitcoind (a test emitter) or to check one build against another version's layout
  --json    machine-readable output (one JSON document on stdout)
  -h, --help

List output (--json): one array, one element per note, in note order:
  [{"provider":"net","name":"inbound_message","location":"0x…","semaphore":"0x…"|null,
    "args":["-8@%rbx","8@%rbp",…]}]
  A probe inlined at several call sites has several notes. args use sdt notation:
  [-]SIZE@OPERAND, '-' = signed, SIZE in bytes.

Diff output (--diff --json): one object
  {"a":"<path a>","b":"<path b>",
   "summary":{"a":N,"b":N,"added":N,"removed":N,"changed":N,"unchanged":N},   (probe counts)
   "added":[PROBE…],"removed":[PROBE…],
   "changed":[{"probe":"mempool:replaced","changes":["argument count 7 → 8"],"a":SIG,"b":SIG}],
   "inconsistent":[{"side":"a"|"b","probe":"p:n","signatures":[SIG,…]}]}
  PROBE = {"probe":"provider:name","sites":N,"signature":SIG}
  SIG   = {"semaphore":true|false,"args":["-8","8",…]}   (argument types: '-' = signed,
          size in bytes, 'f' = floating point; operands are ignored)
  Probes are keyed by provider:name; the notes of one probe are collapsed and compared by their
  first call site. Change texts: "argument count X → Y", "argument N size X → Y bytes",
  "argument N signed → unsigned" (or back), "semaphore gained", "semaphore lost".
  "inconsistent" lists probes whose call sites disagree on their signature.

Check output (--check --json): one object
  {"path":"<binary>","version":"29.0.0","checked":N,
   "mismatches":[{"probe":"net:closed_connection","argument":"argument 5 (time_established)",
                  "catalog":"8 (uint64)","note":"-8"}],
   "unknown":["provider:name",…],"altered":["net:outbound_message at 0x… holds 0xcc (int3), not a nop",…]}
  "argument" is "argument N (name)", "argument count" or "presence"; "unknown" lists probes the
  catalog does not know (reported, not a failure); "altered" lists probe sites that are not sdt.h's
  nop (an altered file: that tracepoint can never fire), also reported, not a failure.

Exit codes: 0 listed or compared (differences are a report, not a failure), or --check agreed;
            1 --check found mismatches (each one listed);
            2 usage error, or a file that is missing, unreadable or not ELF, or a version that
              cannot be told (pass --core-version).`;

/** JSON element of the list mode; the key order is part of the contract. */
function noteJson(note: ProbeNote): { provider: string; name: string; location: string; semaphore: string | null; args: string[] } {
  return { provider: note.provider, name: note.name, location: note.location, semaphore: note.semaphore, args: note.args };
}

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

/** Human list: a table per provider, in first-note order, one row per probe (sites collapsed). */
function formatProbeList(file: string, notes: ProbeNote[]): string {
  if (notes.length === 0) {
    return `${file}: no USDT probes (no .note.stapsdt notes). For bitcoind, build with -DWITH_USDT=ON (v29+) or --enable-usdt (≤ v28).`;
  }
  const probes = collapseProbes(notes);
  const providers = [...new Set(notes.map((n) => n.provider))];
  const lines = [`${file}: ${plural(probes.length, 'probe')} in ${plural(notes.length, 'note')}, ${plural(providers.length, 'provider')}`];
  const nameWidth = Math.max(5, ...probes.map((p) => p.probe.length - p.probe.indexOf(':') - 1));
  for (const provider of providers) {
    const ofProvider = probes.filter((p) => p.probe.startsWith(`${provider}:`));
    lines.push('', `${provider} (${ofProvider.length})`);
    lines.push(`  ${'PROBE'.padEnd(nameWidth)}  SEMAPHORE  SITES  ARGS  SIZES`);
    for (const probe of ofProvider) {
      const name = probe.probe.slice(provider.length + 1);
      const sizes = probe.signature.args.join(' ');
      const warning = probe.disagreeing ? '  (call sites disagree)' : '';
      lines.push(`  ${name.padEnd(nameWidth)}  ${(probe.signature.semaphore ? 'yes' : 'no').padEnd(9)}  ${String(probe.sites).padStart(5)}  ${String(probe.signature.args.length).padStart(4)}  ${sizes}${warning}`.trimEnd());
    }
  }
  lines.push('', "sizes in bytes, '-' = signed, 'f' = floating point");
  return lines.join('\n');
}

async function runList(file: string, json: boolean, io: CommandIO): Promise<number> {
  const notes = await readProbeNotes(file);
  if (json) writeLine(io.stdout, JSON.stringify(notes.map(noteJson)));
  else writeLine(io.stdout, formatProbeList(file, notes));
  return EXIT_OK;
}

async function runDiff(a: string, b: string, json: boolean, io: CommandIO): Promise<number> {
  const [notesA, notesB] = await Promise.all([readProbeNotes(a), readProbeNotes(b)]);
  const diff = diffProbes(notesA, notesB);
  writeLine(io.stdout, json ? JSON.stringify(probeDiffJson(diff, a, b)) : formatProbeDiff(diff, a, b));
  return EXIT_OK;
}

async function runCheck(file: string, coreVersion: string | undefined, json: boolean, io: CommandIO): Promise<number> {
  let version = coreVersion;
  let elfPath = file;
  if (version === undefined) {
    const binary = await identifyBinary(file, 'flag', 'probes --check');
    version = binary.version;
    elfPath = binary.elfPath;
  }
  const notes = await readProbeNotes(elfPath);
  const check = checkProbes(notes, version);
  // Not a catalog matter, but a tracer's: a site that is not a nop never fires (tracing/probe-sites.ts).
  const altered = (await damagedProbeSites(elfPath, notes)).map(describeDamagedSite);
  if (json) writeLine(io.stdout, JSON.stringify({ path: file, version, checked: check.checked, mismatches: check.mismatches, unknown: check.unknown, altered }));
  else {
    writeLine(io.stdout, formatProbeCheck(file, check));
    for (const site of altered) writeLine(io.stdout, `warning: ${site}: the file was altered, the kernel refuses that uprobe`);
  }
  return check.mismatches.length === 0 ? EXIT_OK : EXIT_EXPECTATION_FAILED;
}

export const probesCommand: Command = {
  name: 'probes',
  summary: 'list the USDT probes of a binary, diff two (--diff a b), or check one against the catalog (--check)',
  help,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(
      'probes',
      argv,
      { json: { type: 'boolean' }, diff: { type: 'boolean' }, check: { type: 'boolean' }, 'core-version': { type: 'string' } },
      true,
    );
    const json = values.json === true;
    const coreVersion = values['core-version'] as string | undefined;
    if (coreVersion !== undefined) {
      if (values.check !== true) throw usageError('--core-version only goes with --check', "add --check, e.g. 'regtest-harness probes ./bitcoind --check --core-version 29.0'");
      try {
        parseVersion(coreVersion);
      } catch {
        throw usageError(`--core-version: '${coreVersion}' is not a version`, 'pass a dotted version such as 29.0 or 28.1');
      }
    }
    if (values.check === true && values.diff === true) throw usageError('--check and --diff do not go together', 'check one binary at a time, or diff two');
    if (values.diff === true) {
      const [a, b] = positionals;
      if (positionals.length !== 2 || a === undefined || b === undefined) {
        throw usageError(`--diff: expected two binaries, got ${positionals.length}`, "pass both, e.g. 'regtest-harness probes --diff bitcoind-v28 bitcoind-v29'");
      }
      return runDiff(a, b, json, io);
    }
    const [file] = positionals;
    if (positionals.length !== 1 || file === undefined) {
      throw usageError(`expected one binary, got ${positionals.length}`, "pass one path, e.g. 'regtest-harness probes ./bitcoind', or use --diff a b to compare two");
    }
    return values.check === true ? runCheck(file, coreVersion, json, io) : runList(file, json, io);
  },
};
