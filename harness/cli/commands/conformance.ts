/**
 * `regtest-harness conformance`: fire all of Core's tracepoints on real regtest nodes of each
 * binary and check every argument against RPC answers (harness/conformance/); print the matrix.
 */
import { constants } from 'node:fs';
import { access, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { resolveBitcoind, type BitcoindBinary } from '../../binary.js';
import { usdtReadiness } from '../../doctor/tracer-decision.js';
import { HarnessError, usageError } from '../../common/errors.js';
import { runConformance } from '../../conformance/run.js';
import { damagedProbeSites } from '../../../tracing/probe-sites.js';
import { readProbeNotes } from '../../../tracing/elf-notes.js';
import { conformanceJson, conformanceOk, formatMatrix, renderConformanceHtml } from '../../conformance/report.js';
import { EXIT_EXPECTATION_FAILED, EXIT_OK, parseCommandArgs, writeLine, type Command } from '../command.js';

const help = `regtest-harness conformance — fire all 20 of Bitcoin Core's tracepoints on real regtest nodes and check every argument

Usage:
  regtest-harness conformance [--bitcoind PATH[,PATH…]] [--json] [--report FILE.html]

For each binary, a network of two nodes (on a private copy of the binary) makes Core fire each
tracepoint the binary carries; every argument is compared with a truth that does not come from
the tracer (getblock, getmempoolentry, getpeerinfo, gettxout, the wallet, the node's debug.log).
Needs the usdt tracer (bpftrace, root, a bitcoind built with USDT).

Options:
  --bitcoind PATH[,PATH…]  binaries to check, one column each (default: the bitcoind the harness
                           resolves: $BITCOIND, PATH, the provisioned cache; printed on stderr)
  --json                   one JSON object on stdout instead of the matrix
  --report FILE.html       also write the matrix as an HTML page
  -h, --help

Matrix: one row per catalog tracepoint (20), one column per binary. Cells:
  ✔ n    fired n times, and every argument check held
  ✘ arg  the first argument that failed (the lines below the matrix give expected vs got)
  —      absent from this binary, as the catalog expects for that version
  !      absent or never fired where the catalog says it should fire (or present where not)

JSON (--json):
  {"binaries":[{"path":"…","version":"29.0.0","tracepoints":[
     {"name":"mempool:replaced","present":true,"expected":true,"fired":1,"ok":true,"problems":[]}, …]}]}
  20 entries per binary, in catalog order (tracing/catalog.ts). Each problem is a string naming
  the argument, the expected value and the value received ("fee: expected 1410, got 1400 (…)").
  "error" is added to a binary whose run stopped early.

Exit codes: 0 every cell is what the catalog expects for that version; 1 otherwise;
            2 usage or environment error (USDT cannot run here: the reason is printed);
            130 interrupted.`;

async function assertWritable(file: string): Promise<void> {
  try {
    await access(dirname(resolve(file)), constants.W_OK);
  } catch (error) {
    throw usageError(`cannot write the report to ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, 'pass --report a path in a writable directory');
  }
}

export const conformanceCommand: Command = {
  name: 'conformance',
  summary: "fire all of Core's tracepoints on real nodes and check every argument, per binary (matrix)",
  help,
  async run(argv, io) {
    const { values } = parseCommandArgs('conformance', argv, { bitcoind: { type: 'string' }, json: { type: 'boolean' }, report: { type: 'string' } });
    const report = values.report as string | undefined;
    if (report !== undefined) {
      if (!report.endsWith('.html')) throw usageError(`--report ${report}: the report is an HTML page`, 'pass a file name ending in .html, e.g. --report conformance.html');
      await assertWritable(report);
    }
    const given = values.bitcoind as string | undefined;
    const paths = (given ?? '').split(',').map((p) => p.trim()).filter(Boolean);
    if (given !== undefined && paths.length === 0) throw usageError('--bitcoind is empty', 'pass one or more bitcoind paths separated by commas');
    const binaries: BitcoindBinary[] = [];
    for (const path of paths.length > 0 ? paths : [undefined]) {
      const binary = await resolveBitcoind({ ...(path ? { bitcoind: path } : {}), signal: io.signal, onProgress: (line) => writeLine(io.stderr, line) });
      if (path === undefined) writeLine(io.stderr, `conformance: no --bitcoind given; checking ${binary.path} (${binary.reason})`);
      // The same readiness the doctor reports: probes, bpftrace, privileges, uprobes, a live BPF program.
      const usdt = await usdtReadiness(binary.elfPath);
      // An altered probe site only costs that tracepoint: the matrix reports it (its cell is '!').
      const altered = (await damagedProbeSites(binary.elfPath, await readProbeNotes(binary.elfPath))).length > 0;
      if (!usdt.ok && !(altered && usdt.reason.includes('was altered'))) {
        throw new HarnessError('NO_PROBES', `cannot run the conformance suite on ${binary.path}: it needs the usdt tracer, and ${usdt.reason}`, {
          fix: 'run as root with bpftrace installed, on a bitcoind built with USDT (-DWITH_USDT=ON, or --enable-usdt before v29); regtest-harness doctor says what is missing',
        });
      }
      binaries.push(binary);
    }
    const result = await runConformance(binaries, { signal: io.signal, log: (line) => writeLine(io.stderr, line) });
    writeLine(io.stdout, values.json ? JSON.stringify(conformanceJson(result)) : formatMatrix(result));
    if (report !== undefined) {
      await writeFile(report, renderConformanceHtml(result));
      writeLine(io.stderr, `conformance: report written to ${report}`);
    }
    return conformanceOk(result) ? EXIT_OK : EXIT_EXPECTATION_FAILED;
  },
};
