/**
 * utxocache:add / spent against the coins the mined blocks created and spent (getblock, gettxout
 * before the spend); uncache against a coin loaded by a transaction that testmempoolaccept
 * rejects; flush against the node's own debug.log line for the same flush (-debug=bench).
 */
import { readFile } from 'node:fs/promises';
import type { TracepointName } from '../../tracing/events.js';
import type { ConformanceContext } from './context.js';
import { coinKey, type CoinTruth, type Ledger } from './ledger.js';
import { call, walletCall, type Unspent } from './core-rpc.js';
import { sats } from './check.js';
import { WALLET } from '../network.js';

/** Core's FlushStateMode (validation.h, v22–v29): shutdown flushes with ALWAYS. */
export const FLUSH_MODE_ALWAYS = 3;

function verifyCoins(ctx: ConformanceContext, name: TracepointName & `utxocache:${'add' | 'spent' | 'uncache'}`, truths: Iterable<CoinTruth>): void {
  const check = ctx.check(name);
  if (!check) return;
  const events = ctx.events(name);
  check.fired = events.length;
  for (const coin of truths) {
    // Mempool acceptance and block templates use temporary caches too (mempool coins at height
    // 0x7fffffff): the truth holds when one event of node 0 for this coin carries exactly its values.
    const candidates = events.filter((e) => e.node === 0 && e.args.txid === coin.txid && e.args.vout === coin.vout);
    const event =
      candidates.find((e) => e.args.height === coin.height && e.args.value === coin.value && e.args.is_coinbase === coin.is_coinbase) ?? candidates[0];
    if (!event) {
      check.missing('txid', `for coin ${coin.txid}:${coin.vout}`);
      continue;
    }
    check.equal('txid', coin.txid, event.args.txid);
    check.equal('vout', coin.vout, event.args.vout);
    const about = `coin ${coin.txid.slice(0, 16)}…:${coin.vout}`;
    check.equal('height', coin.height, event.args.height, about);
    check.equal('value', coin.value, event.args.value, about);
    check.equal('is_coinbase', coin.is_coinbase, event.args.is_coinbase, about);
  }
}

export interface FlushTruth {
  /** "write coins cache to disk (N coins, X kB)" lines the node logged while it stopped. */
  lines: { coins: number; memory: string; unit: string }[];
  /** Wall time of the stop, µs: an upper bound for each flush's duration. */
  stopUs: number;
}

/** BCLog::Timer logs "… started" and "… completed (X ms)" per flush: one completed line per flush. */
const FLUSH_LINE = /write coins cache to disk \((\d+) coins, ([\d.]+)(kB|KiB)\) completed/g;

/** Stop node 0 (Core flushes its coins cache at shutdown) and read the flush lines it logged. */
export async function stopAndFlush(ctx: ConformanceContext): Promise<FlushTruth> {
  const node = ctx.network.node(0);
  const logBefore = (await readFile(node.debugLogPath, 'utf8')).length;
  const started = process.hrtime.bigint();
  await ctx.network.stopNode(0);
  const stopUs = Number((process.hrtime.bigint() - started) / 1000n);
  const log = (await readFile(node.debugLogPath, 'utf8')).slice(logBefore);
  const lines = [...log.matchAll(FLUSH_LINE)].map((m) => ({ coins: Number(m[1]), memory: m[2]!, unit: m[3]! }));
  return { lines, stopUs };
}

/**
 * How the log prints coins_mem_usage: kB (bytes / 1000, an integer division in v24–v28) or KiB
 * (bytes >> 10, v29); printed with decimals only if the value was a floating-point number.
 */
function loggedMemory(bytes: number, unit: string, logged: string): string {
  const value = unit === 'kB' ? bytes / 1000 : bytes / 1024;
  return logged.includes('.') ? value.toFixed(2) : String(Math.floor(value));
}

export function verifyFlush(ctx: ConformanceContext, truth: FlushTruth): void {
  const check = ctx.check('utxocache:flush');
  if (!check) return;
  const events = ctx.events('utxocache:flush', 0);
  check.fired = ctx.events('utxocache:flush').length;
  if (events.length === 0) check.missing('coins_count', 'on node 0 while it shut down');
  check.equal('coins_count', truth.lines.length, events.length, 'flush lines in debug.log vs flush events');
  const unused = [...truth.lines];
  for (const event of events) {
    check.equal('mode', FLUSH_MODE_ALWAYS, event.args.mode, 'shutdown flushes with ALWAYS');
    check.equal('is_flush_for_prune', false, event.args.is_flush_for_prune, 'no -prune');
    check.within('duration_us', 0, truth.stopUs, event.args.duration_us, 'µs, within the stop');
    const at = unused.findIndex((l) => l.coins === event.args.coins_count);
    if (at < 0) {
      check.equal('coins_count', truth.lines.map((l) => l.coins).join('|'), event.args.coins_count, 'a debug.log flush line');
      continue;
    }
    const line = unused.splice(at, 1)[0]!;
    check.equal('coins_mem_usage', line.memory, loggedMemory(event.args.coins_mem_usage, line.unit, line.memory), `debug.log prints ${line.unit}`);
  }
}

export interface UncacheTruth {
  coin: CoinTruth;
  txid: string;
  rejectReason: string;
}

/**
 * After a restart (empty coins cache), testmempoolaccept a transaction spending a mature coinbase
 * coin of node 0's wallet without a signature: validation loads the coin, rejects the transaction
 * and uncaches the coin. The coin's facts come from the wallet (listunspent, gettransaction),
 * which does not load it into the node's cache.
 */
export async function rejectUnsigned(ctx: ConformanceContext): Promise<UncacheTruth> {
  const rpc = ctx.rpc(0);
  await ctx.network.ensureWallet(0);
  const tip = await call<number>(rpc, 'getblockcount');
  const unspent = await walletCall<Unspent[]>(rpc, WALLET, 'listunspent', 100);
  let chosen: Unspent | undefined;
  for (const u of unspent.sort((a, b) => b.confirmations - a.confirmations)) {
    const tx = await walletCall<{ generated?: boolean }>(rpc, WALLET, 'gettransaction', u.txid);
    if (tx.generated) {
      chosen = u;
      break;
    }
  }
  if (!chosen) throw new Error('node 0 has no mature coinbase coin to spend');
  const coin: CoinTruth = { txid: chosen.txid, vout: chosen.vout, height: tip - chosen.confirmations + 1, value: sats(chosen.amount), is_coinbase: true };
  const to = await ctx.network.newAddress(0);
  const raw = await call<string>(rpc, 'createrawtransaction', [{ txid: chosen.txid, vout: chosen.vout }], [{ [to]: Number((chosen.amount - 0.001).toFixed(8)) }]);
  const decoded = await call<{ txid: string }>(rpc, 'decoderawtransaction', raw);
  const [result] = await call<{ txid: string; allowed: boolean; 'reject-reason'?: string }[]>(rpc, 'testmempoolaccept', [raw]);
  if (!result || result.allowed) throw new Error('testmempoolaccept accepted an unsigned transaction');
  return { coin, txid: decoded.txid, rejectReason: result['reject-reason'] ?? '' };
}

export function verifyUtxoCache(ctx: ConformanceContext, ledger: Ledger, uncache: UncacheTruth | undefined, flush: FlushTruth | undefined): void {
  verifyCoins(ctx, 'utxocache:add', ledger.added.values());
  verifyCoins(ctx, 'utxocache:spent', ledger.spent.values());
  verifyCoins(ctx, 'utxocache:uncache', uncache ? [uncache.coin] : []);
  if (flush) verifyFlush(ctx, flush);
}

export { coinKey };
