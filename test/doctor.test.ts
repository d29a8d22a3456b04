import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BitcoindBinary } from '../harness/binary.js';
import { bitcoindSkipReason, testBinary } from './helpers/bitcoind.js';
import { runCli } from './helpers/cli.js';
import { coreBuildsSkipReason, newestCoreBuild } from './helpers/core-builds.js';
import {
  checkBitcoindProbes,
  checkTracefs,
  decideTracer,
  NO_USDT_FIX,
  runDoctor,
  usdtReadiness,
  type CheckId,
  type CheckResult,
} from '../harness/doctor/index.js';
import { checkBpf } from '../harness/doctor/bpf.js';
import { checkBpftraceInstalled, checkPrivilege } from '../harness/doctor/bpftrace.js';
import { parseKernelConfig } from '../harness/doctor/kernel-config.js';
import { checkKernelVersion } from '../harness/doctor/kernel.js';
import { bpftraceBinary } from '../tracing/bpftrace/session.js';
import { locateBpftrace } from '../tracing/bpftrace/locate.js';
import { sdtToolchain } from './helpers/readelf.js';

const cli = runCli;

const ALL_IDS: CheckId[] = [
  'kernel.version',
  'kernel.bpf',
  'kernel.uprobes',
  'kernel.btf',
  'kernel.tracefs',
  'bpftrace.installed',
  'bpftrace.privilege',
  'bitcoind.binary',
  'bitcoind.probes',
];

const byId = (checks: readonly CheckResult[], id: CheckId): CheckResult => {
  const found = checks.find((c) => c.id === id);
  if (!found) throw new Error(`no ${id} check in the report`);
  return found;
};

const isRoot = process.getuid?.() === 0;
const bpftrace = bpftraceBinary();
const privilegedSkip = !isRoot ? 'not running as root' : !bpftrace ? 'bpftrace is not installed' : undefined;

/**
 * Debian's bitcoin-knots (no USDT), the binary `npm test`'s set-up provisions (testBinary()), so
 * these run in CI; skipped, saying why, only when $BITCOIND names another bitcoind.
 */
async function findKnots(): Promise<BitcoindBinary | string> {
  const skip = bitcoindSkipReason();
  if (skip) return skip;
  const binary = await testBinary().catch((error: Error) => error.message);
  if (typeof binary === 'string') return binary;
  return binary.flavor === 'knots' ? binary : `the test bitcoind ${binary.path} is Bitcoin Core, not Knots (unset BITCOIND to use the provisioned Knots)`;
}
const knots = await findKnots();
const KNOTS_PATH = typeof knots === 'string' ? '' : knots.path;
const knotsSkip = typeof knots === 'string' ? knots : undefined;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rh-doctor-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(privilegedSkip !== undefined)(`doctor on a root machine with bpftrace${privilegedSkip ? ` (skipped: ${privilegedSkip})` : ''}`, () => {
  it('reports the kernel and bpftrace checks ok, BPF proven by a live program', async () => {
    const { checks } = await runDoctor({ bitcoind: knotsSkip ? undefined : KNOTS_PATH });
    expect(byId(checks, 'kernel.version')).toMatchObject({ status: 'ok', fix: null });
    expect(byId(checks, 'kernel.bpf')).toMatchObject({ status: 'ok', detail: "BPF works: `bpftrace -e 'BEGIN { exit() }'` loaded and ran a program" });
    expect(byId(checks, 'kernel.uprobes')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/perf event type \d+/) });
    // BTF is optional: ok when the kernel exports it, otherwise only a warning.
    expect(byId(checks, 'kernel.btf').status).toBe(existsSync('/sys/kernel/btf/vmlinux') ? 'ok' : 'warn');
    // Which bpftrace, its version, and why that one (private root or system; tracing/bpftrace/locate.ts).
    const located = locateBpftrace()!;
    expect(byId(checks, 'bpftrace.installed')).toMatchObject({ status: 'ok', detail: expect.stringMatching(new RegExp(`^bpftrace v\\d+\\.\\d+\\.\\d+ at ${bpftrace} \\(.+\\): `)) });
    expect(byId(checks, 'bpftrace.installed').detail).toContain(located.reason);
    expect(byId(checks, 'bpftrace.privilege')).toMatchObject({ status: 'ok', detail: expect.stringContaining('running as root') });
  });
});

describe('checks when bpftrace or privileges are lacking', () => {
  const noPrivilege = { kind: 'none', reason: 'not root and `sudo -n` needs a password' } as const;

  it('names the missing piece and offers --tracer log', async () => {
    expect(await checkBpftraceInstalled(undefined)).toMatchObject({ status: 'missing', fix: expect.stringMatching(/apt-get install bpftrace.*--tracer log/) });
    expect(await checkPrivilege(noPrivilege, undefined)).toMatchObject({
      status: 'missing',
      detail: 'bpftrace needs root to attach probes: not root and `sudo -n` needs a password',
      fix: expect.stringMatching(/^run as root, or allow this user passwordless sudo for true, env and kill .*--tracer log/),
    });
  });

  it('kernel.bpf falls back to evidence that bpf() is compiled in, and says it was not exercised', async () => {
    const compiledOut = parseKernelConfig('# CONFIG_BPF_SYSCALL is not set\n', 'test-config');
    expect(await checkBpf({ bpftrace: undefined, privilege: noPrivilege, config: compiledOut })).toMatchObject({
      status: 'missing',
      detail: 'the kernel has no bpf() syscall: CONFIG_BPF_SYSCALL is not set (test-config)',
    });
    const compiledIn = parseKernelConfig('CONFIG_BPF_SYSCALL=y\n', 'test-config');
    expect(await checkBpf({ bpftrace: '/usr/bin/bpftrace', privilege: noPrivilege, config: compiledIn })).toMatchObject({
      status: 'ok',
      detail: expect.stringMatching(/^bpf\(\) syscall compiled in \(CONFIG_BPF_SYSCALL=y \(test-config\).*\); not exercised: no root or passwordless sudo$/),
    });
  });

  it('kernel.version warns below 4.20 (no uprobe reference counters for semaphores)', () => {
    expect(checkKernelVersion('4.19.0-27-amd64')).toMatchObject({ status: 'warn', fix: expect.stringContaining('Linux ≥ 4.20') });
    expect(checkKernelVersion('4.20.0')).toMatchObject({ status: 'ok' });
    expect(checkKernelVersion('6.1.0-37-amd64')).toMatchObject({ status: 'ok' });
  });
});

describe('tracefs check', () => {
  it('is ok with tracefs in the mounts table, a warning naming the mount command otherwise', async () => {
    const mounted = join(dir, 'mounts-with');
    const unmounted = join(dir, 'mounts-without');
    await writeFile(mounted, 'proc /proc proc rw 0 0\nnodev /sys/kernel/tracing tracefs rw,relatime 0 0\n');
    // debugfs alone, or tracefs elsewhere, is not what bpftrace 0.17 looks at.
    await writeFile(unmounted, 'proc /proc proc rw 0 0\ndebugfs /sys/kernel/debug debugfs rw 0 0\nnodev /mnt/t tracefs rw 0 0\n');

    expect(await checkTracefs({ kind: 'root' }, mounted)).toEqual({ id: 'kernel.tracefs', status: 'ok', detail: 'tracefs mounted at /sys/kernel/tracing', fix: null });
    const asRoot = await checkTracefs({ kind: 'root' }, unmounted);
    expect(asRoot.status).toBe('warn');
    expect(asRoot.fix).toMatch(/the tracer runs 'mount -t tracefs nodev \/sys\/kernel\/tracing' itself as root/);
    const viaSudo = await checkTracefs({ kind: 'sudo' }, unmounted);
    expect(viaSudo.fix).toMatch(/^run 'sudo mount -t tracefs nodev \/sys\/kernel\/tracing' \(the tracer mounts it itself only when running as root\)$/);
    expect((await checkTracefs({ kind: 'root' }, join(dir, 'no-such-mounts'))).status).toBe('warn');
  });
});

describe.skipIf(knotsSkip !== undefined)(`doctor with Debian's bitcoin-knots${knotsSkip ? ` (skipped: ${knotsSkip})` : ''}`, () => {
  it('prints one line per check: probes missing with the fix, auto tracer = log, exit 0', async () => {
    const { code, stdout, stderr } = await cli('doctor', '--bitcoind', KNOTS_PATH);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    const lines = stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(ALL_IDS.length + 1);
    ALL_IDS.forEach((id, i) => expect(lines[i]).toMatch(new RegExp(`^(ok|missing|warn)\\s+${id.replace('.', '\\.')}\\s+\\S`)));
    const probes = lines.find((l) => /^missing\s+bitcoind\.probes\s/.test(l));
    expect(probes).toContain('carries none of the USDT tracepoints (0 of 20 catalog tracepoints, net 0 of 7');
    expect(probes).toContain(
      "— fix: this binary was built without USDT (e.g. Debian's bitcoin-knots): use an official Bitcoin Core release ≥ v23 (regtest-harness provision --source release) or --tracer log",
    );
    expect(lines.find((l) => /^ok\s+bitcoind\.binary\s/.test(l))).toContain('Bitcoin Knots daemon version v');
    expect(lines.at(-1)).toMatch(/^tracer\s+auto\s+--tracer auto would use log: USDT is not possible here \(.*bitcoind\.probes: /);
  });

  it('usdtReadiness refuses the Knots ELF for its missing probes', async () => {
    const elfPath = (knots as BitcoindBinary).elfPath;
    const readiness = await usdtReadiness(elfPath);
    expect(readiness.ok).toBe(false);
    expect(readiness.reason).toContain(`bitcoind.probes: ${elfPath}`);
    expect(readiness.reason).toContain('carries none of the USDT tracepoints');
  });

  it('--json prints one object with the documented shape', async () => {
    const { code, stdout } = await cli('doctor', '--json', '--bitcoind', KNOTS_PATH);
    expect(code).toBe(0);
    expect(stdout.trimEnd().split('\n')).toHaveLength(1);
    const report = JSON.parse(stdout) as { checks: CheckResult[]; tracer: { auto: string; reason: string } };
    expect(Object.keys(report)).toEqual(['checks', 'tracer']);
    expect(report.checks.map((c) => c.id)).toEqual(ALL_IDS);
    for (const check of report.checks) {
      expect(Object.keys(check)).toEqual(['id', 'status', 'detail', 'fix']);
      expect(['ok', 'missing', 'warn']).toContain(check.status);
      expect(check.detail).toMatch(/\S/);
      // A fix exactly when something is not ok.
      if (check.status === 'ok') expect(check.fix).toBeNull();
      else expect(check.fix).toMatch(/\S/);
    }
    expect(byId(report.checks, 'bitcoind.probes')).toMatchObject({ status: 'missing', fix: NO_USDT_FIX });
    expect(Object.keys(report.tracer)).toEqual(['auto', 'reason']);
    expect(report.tracer.auto).toBe('log');
  });
});

describe('doctor without a usable bitcoind', () => {
  it('a --bitcoind path that does not exist: exit 2, one stderr line with cause and fix, the report still printed', async () => {
    const absent = join(dir, 'no-such-bitcoind');
    const { code, stdout, stderr } = await cli('doctor', '--bitcoind', absent);
    expect(code).toBe(2);
    const errorLines = stderr.trimEnd().split('\n');
    expect(errorLines).toHaveLength(1);
    expect(errorLines[0]).toBe(
      `regtest-harness doctor: bitcoind not found at ${absent} — check the path, or point --bitcoind (or the BITCOIND environment variable) at a bitcoind binary, or run 'regtest-harness provision' to download one`,
    );
    expect(stdout).toMatch(new RegExp(`^missing\\s+bitcoind\\.binary\\s+bitcoind not found at ${absent} — fix: `, 'm'));
    expect(stdout).toMatch(/^missing\s+bitcoind\.probes\s+not checked: no bitcoind was found/m);
    expect(stdout).toMatch(/^tracer\s+auto\s+--tracer auto would use log: no bitcoind was found/m);
  });

  it('--json still prints the report (stdout stays parseable) and exits 2', async () => {
    const { code, stdout, stderr } = await cli('doctor', '--json', '--bitcoind', join(dir, 'missing'));
    expect(code).toBe(2);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    const report = JSON.parse(stdout) as { checks: CheckResult[]; tracer: { auto: string } };
    expect(byId(report.checks, 'bitcoind.binary').status).toBe('missing');
    expect(report.tracer.auto).toBe('log');
  });

  it('an unknown flag is a usage error; doctor is listed in --help', async () => {
    const { code, stderr } = await cli('doctor', '--jsn');
    expect(code).toBe(2);
    expect(stderr).toMatch(/^regtest-harness doctor: .*Unknown option '--jsn'.* — run 'regtest-harness doctor --help'/);
    expect((await cli('--help')).stdout).toMatch(/^\s+doctor\s+check kernel, bpftrace/m);
  });
});

describe('tracer decision', () => {
  const allOk = ALL_IDS.map((id): CheckResult => ({ id, status: 'ok', detail: `${id} fine`, fix: null }));
  const replace = (id: CheckId, status: 'missing' | 'warn'): CheckResult[] =>
    allOk.map((c) => (c.id === id ? { id, status, detail: `${id} broken`, fix: 'do something' } : c));

  it('usdt only when every requirement holds; each missing one is named; warnings do not block', () => {
    expect(decideTracer(allOk).auto).toBe('usdt');
    for (const id of ['bitcoind.probes', 'bpftrace.installed', 'bpftrace.privilege', 'kernel.uprobes', 'kernel.bpf'] as const) {
      const decision = decideTracer(replace(id, 'missing'));
      expect(decision).toMatchObject({ auto: 'log', reason: expect.stringContaining(`${id}: ${id} broken`) });
    }
    expect(decideTracer(replace('kernel.tracefs', 'missing')).auto).toBe('usdt');
    expect(decideTracer(replace('kernel.btf', 'warn')).auto).toBe('usdt');
    expect(decideTracer(replace('bitcoind.probes', 'warn')).reason).toContain('connection events are not traced');
    expect(decideTracer(replace('bitcoind.binary', 'missing')).reason).toMatch(/^no bitcoind was found/);
  });
});

// ---- A tiny C program carrying Core's net tracepoints, to see the probes check turn ok ----

const toolchain = await sdtToolchain();
const BUILD_DIR = fileURLToPath(new URL('./.build/', import.meta.url));

/** Core's seven net tracepoints with their argument counts; ONLY_INBOUND keeps net:inbound_message alone. */
const NET_PROBES_SOURCE = `
#ifdef WITH_SEMAPHORES
#define _SDT_HAS_SEMAPHORES 1
#define SEMAPHORE(event) __extension__ unsigned short net_##event##_semaphore __attribute__((unused)) __attribute__((section(".probes")));
SEMAPHORE(inbound_message) SEMAPHORE(outbound_message) SEMAPHORE(inbound_connection) SEMAPHORE(outbound_connection)
SEMAPHORE(evicted_inbound_connection) SEMAPHORE(misbehaving_connection) SEMAPHORE(closed_connection)
#endif
#include <sys/sdt.h>
int main(int argc, char **argv) {
  long long peer = argc; const char *addr = "127.0.0.1:18444", *conn = "inbound", *type = "version";
  unsigned long long size = 102, existing = 1; unsigned int network = 0; const unsigned char *msg = (const unsigned char *)argv[0];
  STAP_PROBE6(net, inbound_message, peer, addr, conn, type, size, msg);
#ifndef ONLY_INBOUND
  STAP_PROBE6(net, outbound_message, peer, addr, conn, type, size, msg);
  STAP_PROBE5(net, inbound_connection, peer, addr, conn, network, existing);
  STAP_PROBE5(net, outbound_connection, peer, addr, conn, network, existing);
  STAP_PROBE5(net, evicted_inbound_connection, peer, addr, conn, network, existing);
  STAP_PROBE2(net, misbehaving_connection, peer, type);
  STAP_PROBE5(net, closed_connection, peer, addr, conn, network, existing);
#endif
  return 0;
}
`;

type Variant = 'net' | 'net-semaphores' | 'inbound-only' | 'no-probes';

/** Compile into test/.build/, renamed into place so concurrent test files never see half a binary. */
async function buildVariant(variant: Variant): Promise<string> {
  await mkdir(BUILD_DIR, { recursive: true });
  const output = join(BUILD_DIR, `doctor-${variant}`);
  const temporary = `${output}.${process.pid}.tmp`;
  const defines = { net: [], 'net-semaphores': ['-DWITH_SEMAPHORES'], 'inbound-only': ['-DONLY_INBOUND'], 'no-probes': [] }[variant];
  const source = variant === 'no-probes' ? 'int main(void) { return 0; }\n' : NET_PROBES_SOURCE;
  await execa('cc', ['-O2', ...defines, '-x', 'c', '-', '-o', temporary], { input: source });
  await rename(temporary, output);
  return output;
}

describe.skipIf(!toolchain.ok)(`probes check on compiled sdt programs${toolchain.ok ? '' : ` (skipped: ${toolchain.reason})`}`, () => {
  it('ok for all seven net tracepoints, with or without semaphores', async () => {
    const plain = await buildVariant('net');
    expect(await checkBitcoindProbes(plain)).toEqual({
      id: 'bitcoind.probes',
      status: 'ok',
      detail: `${plain}: 7 of 20 catalog tracepoints, net 7 of 7, semaphores no`,
      fix: null,
    });
    const gated = await buildVariant('net-semaphores');
    expect(await checkBitcoindProbes(gated)).toMatchObject({ status: 'ok', detail: `${gated}: 7 of 20 catalog tracepoints, net 7 of 7, semaphores yes` });
  });

  it('missing when the message probes are incomplete or absent, or the file is not ELF', async () => {
    const inboundOnly = await buildVariant('inbound-only');
    expect(await checkBitcoindProbes(inboundOnly)).toMatchObject({
      status: 'missing',
      detail: expect.stringContaining('lacks net:outbound_message, which the USDT tracer attaches to (1 of 20 catalog tracepoints, net 1 of 7'),
    });
    const none = await buildVariant('no-probes');
    expect(await checkBitcoindProbes(none)).toMatchObject({ status: 'missing', fix: NO_USDT_FIX });
    const script = join(dir, 'not-elf');
    await writeFile(script, 'plain text, not a program\n');
    expect(await checkBitcoindProbes(script)).toMatchObject({ status: 'missing', detail: expect.stringContaining('not an ELF file') });
  });

  it('a foreign wrapper script is missing either way; the ELF it execs decides the fix', async () => {
    const plain = await buildVariant('net');
    const none = await buildVariant('no-probes');
    const wrapper = async (name: string, body: string) => {
      const path = join(dir, name);
      await writeFile(path, `#!/bin/sh\n${body}\n`);
      return path;
    };
    // Named bitcoind, as the real wrappers' programs are; a loader before it must not be taken for it.
    const linked = join(dir, 'real', 'bitcoind');
    await mkdir(join(dir, 'real'), { recursive: true });
    await execa('cp', [plain, linked]);
    const withProbes = await wrapper('with-probes', `exec "${none}" "${linked}" "$@"`);
    expect(await checkBitcoindProbes(withProbes)).toMatchObject({
      status: 'missing',
      detail: `${withProbes} is a wrapper script, so the USDT tracer cannot find its probes; the ELF it runs, ${linked}, has 7 of 20 catalog tracepoints, net 7 of 7, semaphores no`,
      fix: `point --bitcoind at ${linked} if it runs on its own, or use --tracer log`,
    });
    const namesNothing = await wrapper('names-nothing', 'exec /usr/bin/env true');
    expect(await checkBitcoindProbes(namesNothing)).toMatchObject({ status: 'missing', detail: expect.stringContaining('(it names no bitcoind ELF)') });
  });

  it.skipIf(privilegedSkip !== undefined)(`usdtReadiness is ok for the probe program on this machine${privilegedSkip ? ` (skipped: ${privilegedSkip})` : ''}`, async () => {
    const plain = await buildVariant('net');
    expect(await usdtReadiness(plain)).toEqual({ ok: true, reason: expect.stringContaining('the bitcoind carries the net message probes') });
    expect((await usdtReadiness(await buildVariant('no-probes'))).ok).toBe(false);
  });
});

const newest = newestCoreBuild(); // the newest shared build whose probe sites are intact
const coreSkip = newest ? undefined : coreBuildsSkipReason();
describe.skipIf(coreSkip !== undefined)(`doctor with the newest shared Bitcoin Core build${coreSkip ? ` (skipped: ${coreSkip})` : ''}`, () => {
  it('finds its net message probes (before v29 it only warns that connection tracepoints are missing)', async () => {
    const { code, stdout } = await cli('doctor', '--json', '--bitcoind', newest!.bitcoind);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as { checks: CheckResult[]; tracer: { auto: string; reason: string } };
    expect(byId(report.checks, 'bitcoind.binary').detail).toContain('Bitcoin Core');
    const probes = byId(report.checks, 'bitcoind.probes');
    expect(['ok', 'warn']).toContain(probes.status);
    expect(probes.detail).not.toContain('carries none of the USDT tracepoints');
  });

  it.skipIf(privilegedSkip !== undefined)(`--tracer auto would use usdt on it${privilegedSkip ? ` (skipped: ${privilegedSkip})` : ''}`, async () => {
    const { stdout } = await cli('doctor', '--json', '--bitcoind', newest!.bitcoind);
    expect((JSON.parse(stdout) as { tracer: { auto: string } }).tracer.auto).toBe('usdt');
  });
});
