import { execa, type ResultPromise } from 'execa';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { usdtReadiness } from '../harness/doctor/tracer-decision.js';
import { bitcoindSkipReason, testBinary } from './helpers/bitcoind.js';
import { builtCli, buildSkipReason } from './helpers/built.js';
import { newestCoreBuild } from './helpers/core-builds.js';
import { OutputWatch } from './helpers/output-watch.js';
import { isAlive, waitForExit } from './helpers/processes.js';

/**
 * `up` as a live lab (issue 10), with real processes: `up` in one process, `regtest-harness cli`
 * in another, as two terminals would be. Each test gets its own XDG_RUNTIME_DIR, so the state
 * file that lets `cli` find the network is not shared with anyone else's `up`.
 */
let runtimeDir: string;
let children: ResultPromise[] = [];

beforeEach(() => {
  runtimeDir = mkdtempSync(join(tmpdir(), 'up-lab-runtime-'));
});

afterEach(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGINT');
  await Promise.allSettled(children);
  children = [];
  rmSync(runtimeDir, { recursive: true, force: true });
});

function env(): Record<string, string> {
  return { XDG_RUNTIME_DIR: runtimeDir, NO_COLOR: '1' };
}

function startUp(...args: string[]): { child: ResultPromise; stdout: OutputWatch; stderr: OutputWatch } {
  const child = execa(process.execPath, [builtCli(), 'up', ...args], { reject: false, env: env(), buffer: false });
  children.push(child);
  return { child, stdout: new OutputWatch(child.stdout), stderr: new OutputWatch(child.stderr) };
}

function cli(...args: string[]) {
  return execa(process.execPath, [builtCli(), 'cli', ...args], { reject: false, env: env() });
}

/** node<i>'s pid, p2p port and datadir from up's human output. */
function nodeLine(text: string, index: number): { pid: number; p2pPort: number; datadir: string } {
  const match = new RegExp(`^node${index}  pid (\\d+)  p2p 127\\.0\\.0\\.1:(\\d+)  rpc \\S+  datadir (\\S+)$`, 'm').exec(text);
  if (!match) throw new Error(`no node${index} line in:\n${text}`);
  return { pid: Number(match[1]), p2pPort: Number(match[2]), datadir: match[3]! };
}

/** A timeline line of `from`'s verack to `to`: traced where it was sent (──▶) or where it arrived (◀──). */
function verack(from: number, to: number): RegExp {
  return new RegExp(`node${from} ──verack[^\\n]*▶ node${to}|node${to} ◀──verack[^\\n]*node${from}`);
}

/** Resolves once up printed its nodes; on failure the error carries up's stderr too. */
async function ready(up: { stdout: OutputWatch; stderr: OutputWatch }): Promise<void> {
  try {
    await up.stdout.until(/Press Ctrl-C to stop/, 120_000);
  } catch (error) {
    throw new Error(`${(error as Error).message}\nstderr:\n${up.stderr.text}`);
  }
}

describe.skipIf(bitcoindSkipReason() || buildSkipReason())('up watches its nodes and is a live lab', () => {
  test('a node killed with SIGKILL is reported at once with its log tail; the others stop, the datadirs stay, exit 1', async () => {
    const binary = await testBinary();
    const up = startUp('--nodes', '3', '--bitcoind', binary.path);
    await ready(up);
    const nodes = [0, 1, 2].map((i) => nodeLine(up.stdout.text, i));
    const networkDir = join(nodes[0]!.datadir, '..');

    process.kill(nodes[1]!.pid, 'SIGKILL');
    const result = await up.child;
    expect(result.exitCode).toBe(1);
    expect(up.stderr.text).toContain('node1 exited unexpectedly (signal SIGKILL)');
    expect(up.stderr.text).toMatch(/── node1 debug\.log \(last 30 lines\) ──\n.*\[net\]/);
    expect(up.stderr.text).toContain(`datadirs kept in ${networkDir}`);
    expect(await waitForExit([nodes[0]!.pid, nodes[2]!.pid], 1_000)).toEqual([]); // stopped before up exited
    try {
      expect(existsSync(join(nodes[1]!.datadir, 'regtest', 'debug.log'))).toBe(true);
      expect(readdirSync(join(runtimeDir, 'regtest-harness'))).toEqual([]); // the state file is gone
    } finally {
      rmSync(networkDir, { recursive: true, force: true });
    }
  });

  test('up --trace log prints a handshake live when a second process runs `cli 1 addnode 127.0.0.1:<port0> onetry`', async () => {
    const binary = await testBinary();
    const up = startUp('--nodes', '2', '--topology', 'none', '--trace', 'log', '--bitcoind', binary.path);
    await ready(up);
    const node0 = nodeLine(up.stdout.text, 0);
    expect(up.stdout.text).toContain(`bitcoin-cli -datadir=${node0.datadir} getpeerinfo`);
    expect(up.stdout.text).not.toMatch(/verack/); // nothing is connected yet

    const added = await cli('1', 'addnode', `127.0.0.1:${node0.p2pPort}`, 'onetry');
    expect(added.stderr).toBe('');
    expect(added.exitCode).toBe(0);
    // Both sides' verack, live, while up is still running.
    await up.stdout.until(verack(1, 0));
    await up.stdout.until(verack(0, 1));
    expect(up.stdout.text).toMatch(/node1 ──version \(\d+ B\)─+▶ node0  \[manual\]/);

    const peers = await cli('node0', 'getconnectioncount');
    expect(peers.stdout.trim()).toBe('1');
    up.child.kill('SIGINT');
    expect((await up.child).exitCode).toBe(0);
    expect(up.stderr.text).toContain('datadirs removed');
    expect(existsSync(node0.datadir)).toBe(false);
  });

  test('up --json --trace log: the network object, then NDJSON events in the shape of run --json', async () => {
    const binary = await testBinary();
    const up = startUp('--nodes', '2', '--topology', 'none', '--json', '--trace', 'log', '--bitcoind', binary.path);
    const [first] = await up.stdout.until(/^\{.*\}\n/);
    const network = JSON.parse(first) as { pid: number; nodes: { p2pPort: number; bitcoinCli: string }[] };
    expect(network.pid).toBe(up.child.pid);
    expect(network.nodes[1]!.bitcoinCli).toMatch(/^bitcoin-cli -datadir=\S+node1 getpeerinfo$/);

    expect((await cli('--up', String(network.pid), '1', 'addnode', `127.0.0.1:${network.nodes[0]!.p2pPort}`, 'onetry')).exitCode).toBe(0);
    const [line] = await up.stdout.until(/^\{"t":[^\n]*"msg_type":"verack"[^\n]*\}$/m);
    const event = JSON.parse(line) as { node: number; tracepoint: string; peer_node: number | null; source: string };
    expect(event.source).toBe('log');
    expect(event.tracepoint).toMatch(/^net:(in|out)bound_message$/);
    expect(event.peer_node).toBe(1 - event.node);
  });

  test('cli: an RPC error exits 1 with the node\'s message; an unknown node and no running up are one-line errors (exit 2)', async () => {
    const noUp = await cli('1', 'getpeerinfo');
    expect(noUp.exitCode).toBe(2);
    expect(noUp.stderr.trim().split('\n')).toHaveLength(1);
    expect(noUp.stderr).toContain('no regtest-harness up is running for this user');

    const binary = await testBinary();
    const up = startUp('--nodes', '1', '--bitcoind', binary.path);
    await ready(up);
    const bad = await cli('0', 'getblockhash', '99');
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toMatch(/node0 getblockhash: .*out of range/i);
    const unknown = await cli('5', 'getpeerinfo');
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(/has no node 5 \(nodes 0\.\.0\)/);

    // A state file left by an up that was SIGKILLed does not count as a running network.
    up.child.kill('SIGKILL');
    await up.child;
    await waitForExit([nodeLine(up.stdout.text, 0).pid], 15_000); // the watchdog stops the node
    const stale = await cli('0', 'getpeerinfo');
    expect(stale.exitCode).toBe(2);
    expect(stale.stderr).toContain('no regtest-harness up is running');
  });
});

const newest = newestCoreBuild();
const usdtReady = newest ? await usdtReadiness(newest.bitcoind).catch((e: Error) => ({ ok: false, reason: e.message })) : undefined;
const usdtSkip = !newest ? 'no Bitcoin Core build with USDT found (test/helpers/core-builds.ts)' : usdtReady && !usdtReady.ok ? `cannot trace ${newest.tag} with USDT here: ${usdtReady.reason}` : false;

describe.skipIf(usdtSkip || buildSkipReason())(`up --trace usdt on the newest Core build${usdtSkip ? ` — skipped: ${usdtSkip}` : ''}`, () => {
  test('prints the handshake live when a second process runs cli 1 addnode', async () => {
    const up = startUp('--nodes', '2', '--topology', 'none', '--trace', 'usdt', '--bitcoind', newest!.bitcoind);
    await ready(up);
    const node0 = nodeLine(up.stdout.text, 0);
    expect((await cli('1', 'addnode', `127.0.0.1:${node0.p2pPort}`, 'onetry')).exitCode).toBe(0);
    await up.stdout.until(verack(1, 0));
    await up.stdout.until(verack(0, 1));
    expect(up.stderr.text).toContain('tracer: usdt');
    up.child.kill('SIGINT');
    expect((await up.child).exitCode).toBe(0);
    expect(isAlive(node0.pid)).toBe(false);
  }, 240_000); // bpftrace compiles and attaches its probes first: slow on a loaded 2-core machine
});
