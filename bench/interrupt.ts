/**
 * `node dist/bench/interrupt.js [--runs N] [--bitcoind PATH]`: how long `regtest-harness run
 * tx-relay` takes to end after Ctrl-C (SIGINT) at two points of the scenario — a trace wait right
 * after the handshake, and the block sync while funding (an RPC blocked in `waitforblock`) — beside
 * the baseline of one bare bitcoind's own SIGINT-to-exit, measured in the same run. The goal
 * (issue 9) is ≤ 1 s to exit 130 with everything stopped and removed.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { resolveBitcoind } from '../harness/binary.js';
import { allocatePorts, releasePorts } from '../harness/ports.js';
import { msSince, summarize, type Summary } from './stats.js';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'regtest-harness.js');

const POINTS = {
  'after handshake (trace wait)': (msgType: string) => msgType === 'verack',
  'funding (waitforblock RPC)': (msgType: string) => ['headers', 'cmpctblock', 'block'].includes(msgType),
} as const;

/** ms from SIGINT to the CLI's exit, and its exit code. */
async function interruptRun(bitcoind: string, at: (msgType: string) => boolean): Promise<{ ms: number; code: number | null }> {
  const child = spawn(process.execPath, [cli, 'run', 'tx-relay', '--tracer', 'log', '--json', '--bitcoind', bitcoind], { stdio: ['ignore', 'pipe', 'ignore'] });
  let sentAt: bigint | undefined;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  for await (const line of createInterface({ input: child.stdout })) {
    if (sentAt === undefined && at((JSON.parse(line) as { args: { msg_type?: string } }).args.msg_type ?? '')) {
      sentAt = process.hrtime.bigint();
      child.kill('SIGINT');
    }
  }
  const code = await exited;
  if (sentAt === undefined) throw new Error('the run ended before the point of interruption');
  return { ms: msSince(sentAt), code };
}

/** Baseline: one bare bitcoind, started and ready, then SIGINT until it has exited. */
async function bareSigint(bitcoind: string): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-interrupt-'));
  const [p2p, rpc] = await allocatePorts(2);
  try {
    await writeFile(join(dir, 'bitcoin.conf'), `regtest=1\n[regtest]\nbind=127.0.0.1:${p2p}\nrpcport=${rpc}\nrpcbind=127.0.0.1\nlisten=1\nserver=1\n`);
    const child = spawn(bitcoind, [`-datadir=${dir}`, '-printtoconsole=1'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    for await (const line of createInterface({ input: child.stdout! })) if (line.includes('init message: Done loading')) break;
    const sentAt = process.hrtime.bigint();
    child.kill('SIGINT');
    await exited;
    return msSince(sentAt);
  } finally {
    releasePorts([p2p!, rpc!]);
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, bitcoind: { type: 'string' } } });
  const runs = Number(values.runs);
  const binary = await resolveBitcoind(values.bitcoind ? { bitcoind: values.bitcoind } : { provision: false });
  const rows: [string, Summary, string][] = [];
  const bare: number[] = [];
  for (let i = 0; i < runs; i++) bare.push(await bareSigint(binary.path));
  for (const [name, at] of Object.entries(POINTS)) {
    const samples: number[] = [];
    const codes = new Set<number | null>();
    for (let i = 0; i < runs; i++) {
      const { ms, code } = await interruptRun(binary.path, at);
      samples.push(ms);
      codes.add(code);
    }
    rows.push([`run tx-relay, Ctrl-C ${name}`, summarize(samples), `exit ${[...codes].join('/')}`]);
  }
  rows.push(['baseline: bare bitcoind SIGINT → exit', summarize(bare), '']);
  console.log(`Ctrl-C to exit, ${binary.versionLine}, ${runs} runs each (median, min–max ms)`);
  for (const [name, s, note] of rows) console.log(`  ${name.padEnd(58)} ${s.median.toFixed(0).padStart(6)}  ${s.min.toFixed(0)}–${s.max.toFixed(0)}  ${note}`);
}

await main();
