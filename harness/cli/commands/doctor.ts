/**
 * `regtest-harness doctor`: is this machine ready to launch, trace and assert? One line per
 * prerequisite with the fix, and which tracer `--tracer auto` would use.
 */
import { doctorJson, formatDoctorReport, runDoctor } from '../../doctor/index.js';
import { EXIT_OK, EXIT_USAGE_OR_ENVIRONMENT, parseCommandArgs, writeLine, type Command } from '../command.js';

const help = `regtest-harness doctor — check the kernel, bpftrace, privileges and bitcoind for tracing

Usage: regtest-harness doctor [--json] [--bitcoind PATH]

Checks, one line each (ok | missing | warn, the detail, and the fix when not ok):
  kernel.version      Linux release (≥ 4.20: uprobe reference counters for Core v29 semaphores)
  kernel.bpf          bpf() works: bpftrace loads and runs 'BEGIN { exit() }' (as root/sudo)
  kernel.uprobes      /sys/bus/event_source/devices/uprobe exists
  kernel.btf          /sys/kernel/btf/vmlinux exists (optional)
  kernel.tracefs      tracefs mounted at /sys/kernel/tracing (the tracer mounts it as root)
  bpftrace.installed  bpftrace on PATH, and its version
  bpftrace.privilege  running as root, or passwordless 'sudo -n' runs true, env … bpftrace and kill
  bitcoind.binary     the bitcoind in use (--bitcoind, BITCOIND, PATH, cache; never downloads)
  bitcoind.probes     its USDT tracepoints: how many of the catalog's, net ones, semaphores
Then the tracer '--tracer auto' would choose: usdt when bpftrace, privileges, kernel support
and the binary's net probes are all there, else log (debug.log, works with any bitcoind).

Options:
  --bitcoind PATH  check this binary instead of the one resolution would find
  --json           one JSON object on stdout:
                   {"checks":[{"id":"kernel.bpf","status":"ok"|"missing"|"warn",
                               "detail":"…","fix":"…"|null}],
                    "tracer":{"auto":"usdt"|"log","reason":"…"}}
  -h, --help

Exit codes: 0 the harness can run (a bitcoind was found; missing USDT pieces only mean the log
            tracer); 2 no usable bitcoind (the reason and fix are also printed on stderr).`;

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'check kernel, bpftrace, privileges and bitcoind; say which tracer auto picks',
  help,
  async run(argv, io) {
    const { values } = parseCommandArgs('doctor', argv, { json: { type: 'boolean' }, bitcoind: { type: 'string' } });
    const bitcoind = typeof values.bitcoind === 'string' ? values.bitcoind : undefined;
    const report = await runDoctor({ bitcoind });
    if (values.json === true) writeLine(io.stdout, JSON.stringify(doctorJson(report.checks, report.tracer)));
    else writeLine(io.stdout, formatDoctorReport(report.checks, report.tracer));
    if (report.canRun) return EXIT_OK;
    const binary = report.checks.find((c) => c.id === 'bitcoind.binary');
    writeLine(io.stderr, `regtest-harness doctor: ${binary?.detail ?? 'no bitcoind found'} — ${binary?.fix ?? "pass --bitcoind PATH or run 'regtest-harness provision'"}`);
    return EXIT_USAGE_OR_ENVIRONMENT;
  },
};
