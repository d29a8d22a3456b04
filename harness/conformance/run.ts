/**
 * runConformance: fire every catalog tracepoint a binary carries on a real regtest network and
 * check every argument against a truth that does not come from the tracer. One network of two
 * nodes per binary (node 1 dials node 0); node 0 is where the actions happen. The order matters:
 * the chain and wallets first, then a restart (flush at shutdown, an empty cache for uncache),
 * then the disconnecting actions (misbehaving, eviction).
 */
import type { Socket } from 'node:net';
import { identifyBinary, type BitcoindBinary } from '../binary.js';
import { Network } from '../network.js';
import { makeTiming, type Timing } from '../common/timing.js';
import { HarnessError } from '../common/errors.js';
import { catalog, expectedAt } from '../../tracing/catalog.js';
import { hasProbes, readProbeNotes } from '../../tracing/elf-notes.js';
import { damagedProbeSites } from '../../tracing/probe-sites.js';
import { UsdtTracer } from '../../tracing/bpftrace/usdt-tracer.js';
import type { TracepointName } from '../../tracing/events.js';
import { TracepointCheck } from './check.js';
import { privateCopy } from './private-copy.js';
import { ConformanceContext } from './context.js';
import { Ledger } from './ledger.js';
import { verifyValidation } from './validation.js';
import { rejectUnsigned, stopAndFlush, verifyUtxoCache, type FlushTruth, type UncacheTruth } from './utxocache.js';
import { replaceByFee, verifyMempool, type ReplacementTruth } from './mempool.js';
import { selectCoins, verifyCoinSelection, type SelectionTruth } from './coin-selection.js';
import { evict, MAX_CONNECTIONS, misbehave, newNetTruth, recordHandshake, snapshotPeers, verifyNet } from './net.js';
import type { BinaryConformance, ConformanceReport, TracepointConformance } from './types.js';

export interface ConformanceOptions {
  /** Ctrl-C, timeouts scale: every wait of the suite inherits it. */
  signal?: AbortSignal;
  timeoutFactor?: number;
  /** Where the networks' temp directories go. */
  rootDir?: string;
  /** Progress lines (e.g. console.error). */
  log?: (line: string) => void;
}

/** Blocks to mine first: the coinbase of block 1 matures at 101 (COINBASE_MATURITY 100). */
const MATURITY_BLOCKS = 101;

/** Run the suite on each binary, one after another. */
export async function runConformance(binaries: readonly (string | BitcoindBinary)[], options: ConformanceOptions = {}): Promise<ConformanceReport> {
  const results: BinaryConformance[] = [];
  for (const binary of binaries) {
    options.signal?.throwIfAborted();
    const identified = typeof binary === 'string' ? await identifyBinary(binary, 'flag', 'conformance') : binary;
    results.push(await runOne(identified, options));
  }
  return { binaries: results };
}

async function runOne(binary: BitcoindBinary, options: ConformanceOptions): Promise<BinaryConformance> {
  const timing = makeTiming({ signal: options.signal, timeoutFactor: options.timeoutFactor });
  const notes = await readProbeNotes(binary.elfPath);
  const started = Date.now();
  // A probe site that is not sdt.h's nop (an altered file) cannot carry a uprobe: not traced, reported.
  const damaged = new Map((await damagedProbeSites(binary.elfPath, notes)).map((d) => [d.probe, d]));
  const plan = catalog.map((record) => {
    const present = hasProbes(notes, record.context, [record.event]);
    const expected = expectedAt(record.name, binary.version);
    return { name: record.name, present, expected: expected.present, argumentNames: expected.arguments.map((a) => a.argument.name as string) };
  });
  const traced = plan.filter((p) => p.present && p.expected && !damaged.has(p.name));
  if (traced.length === 0) {
    throw new HarnessError('NO_PROBES', `${binary.path} has none of Core's tracepoints that its version ${binary.version} should carry`, {
      fix: 'use a bitcoind built with USDT (-DWITH_USDT=ON, or --enable-usdt before v29)',
    });
  }
  const checks = new Map<TracepointName, TracepointCheck>(traced.map((p) => [p.name, new TracepointCheck(p.name, p.argumentNames)]));
  options.log?.(`conformance: ${binary.versionLine} (${binary.path}): tracing ${traced.length} tracepoints`);
  const copy = await privateCopy(binary, options.rootDir);
  const failure = await exercise(copy.binary, checks, timing, options)
    .then(
      () => undefined,
      (error: unknown) => error,
    )
    .finally(() => copy.dispose());
  if (failure && options.signal?.aborted) throw failure;
  const tracepoints: TracepointConformance[] = plan.map((p) => {
    const check = checks.get(p.name);
    const problems: string[] = [];
    const site = damaged.get(p.name);
    if (site) problems.push(`site: expected sdt.h's nop (0x90) at ${site.location}, got 0x${site.byte.toString(16)}: the file was altered and the kernel refuses this uprobe`);
    // A run that stopped early: its cause first, then whatever was still checked.
    if (failure && check && check.fired === 0) problems.push(`run: ${describe(failure)}`);
    problems.push(...(check ? check.finish() : []));
    if (p.present && !p.expected) problems.push(`presence: the catalog says ${p.name} arrived after ${binary.version}, the binary has it`);
    if (!p.present && p.expected) problems.push(`presence: the catalog says ${binary.version} has ${p.name}, the binary does not`);
    if (check && check.fired === 0 && problems.length === 0) problems.push(`fired: the suite's action did not make it fire`);
    const fired = check?.fired ?? 0;
    const ok = p.present === p.expected && (!p.expected || (fired > 0 && problems.length === 0));
    return { name: p.name, present: p.present, expected: p.expected, fired, ok, problems, arguments: p.argumentNames.length };
  });
  return {
    path: binary.path,
    version: binary.version,
    versionLine: binary.versionLine,
    seconds: Math.round((Date.now() - started) / 100) / 10,
    tracepoints,
    ...(failure ? { error: describe(failure) } : {}),
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0]! : String(error);
}

/** The actions, in order, then the checks on the trace. */
async function exercise(binary: BitcoindBinary, checks: Map<TracepointName, TracepointCheck>, timing: Timing, options: ConformanceOptions): Promise<void> {
  const tracer = new UsdtTracer({ tracepoints: [...checks.keys()] });
  const network = await Network.start({
    nodes: 2,
    topology: '1>0',
    bitcoind: binary,
    tracer,
    // No noban whitelist: noban peers are never evicted nor punished for misbehaving.
    fastRelay: false,
    // v1 transport: getpeerinfo's bytes per message are the payload plus a 24-byte header.
    v2transport: false,
    extraArgs: (index) => (index === 0 ? [`-maxconnections=${MAX_CONNECTIONS}`, '-debug=bench'] : []),
    ...(options.rootDir ? { rootDir: options.rootDir } : {}),
    ...(timing.signal ? { signal: timing.signal } : {}),
  });
  const ctx = new ConformanceContext(network, binary.version, timing, checks);
  const ledger = new Ledger(ctx);
  const net = newNetTruth();
  let replacement: ReplacementTruth | undefined;
  let selection: SelectionTruth | undefined;
  let flush: FlushTruth | undefined;
  let uncache: UncacheTruth | undefined;
  try {
    await recordHandshake(ctx, net);
    await ctx.network.ensureWallet(0);
    await ledger.mine(MATURITY_BLOCKS);
    if (ctx.has('coin_selection:selected_coins') || ctx.has('coin_selection:normal_create_tx_internal')) selection = await selectCoins(ctx, ledger);
    if (ctx.has('mempool:replaced')) replacement = await replaceByFee(ctx, ledger);
    else await ledger.recordMempoolEntry(await ctx.network.sendTransaction(0, 0, 1));
    await ledger.mine(1);
    net.sendersUntil = Number(process.hrtime.bigint() - network.startedAtNs) / 1000;
    flush = await stopAndFlush(ctx);
    await ctx.network.startNode(0);
    await snapshotPeers(ctx);
    uncache = await rejectUnsigned(ctx);
    if (ctx.has('net:misbehaving_connection')) await misbehave(ctx, net);
    if (ctx.has('net:evicted_inbound_connection')) await evict(ctx, net);
    // Everything the probes wrote, read before the checks.
    await tracer.detach();
    verifyNet(ctx, net);
    verifyValidation(ctx, ledger);
    verifyUtxoCache(ctx, ledger, uncache, flush);
    verifyMempool(ctx, ledger, replacement, uncache);
    verifyCoinSelection(ctx, selection);
  } finally {
    closeSockets(net.sockets);
    await network.dispose();
  }
}

function closeSockets(sockets: readonly Socket[]): void {
  for (const socket of sockets) socket.destroy();
}
