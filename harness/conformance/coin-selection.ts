/**
 * coin_selection:* against a wallet the suite builds with exactly one coin, so both attempts of
 * CreateTransaction (normal and avoid-partial-spends) must pick that coin: the fee, the change
 * position and the selected value are the sent transaction's (gettransaction), and the APS
 * result is used (equal fees, -maxapsfee 0). Core's wallet logs both fees ("Fee non-grouped = …,
 * grouped = …, using grouped"), a second truth for the APS attempt. A second send of the whole
 * balance has no change: change_pos -1 since v27.0 (catalog).
 */
import { readFile } from 'node:fs/promises';
import { versionAtLeast } from '../common/version.js';
import type { ConformanceContext } from './context.js';
import type { Ledger } from './ledger.js';
import { sats } from './check.js';
import { call, walletCall } from './core-rpc.js';
import { WALLET } from '../network.js';

/** Fits bpftrace's 16-byte wallet name (catalog WALLET_NAME_LENGTH). */
export const SELECTION_WALLET = 'conformance';

/** GetAlgorithmName (wallet/coinselection.cpp): CoinGrinder ("cg") since v27. */
export function algorithmNames(version: string): string[] {
  return ['bnb', 'knapsack', 'srd', 'manual', ...(versionAtLeast(version, '27.0') ? ['cg'] : [])];
}

export interface SendTruth {
  txid: string;
  amount: number;
  fee: number;
  /** Index of the change output, -1 without change. */
  changePos: number;
  selectedValue: number;
  /** From debug.log: "Fee non-grouped = X, grouped = Y, using grouped|non-grouped", when logged. */
  apsLog?: { normalFee: number; groupedFee: number; usedGrouped: boolean };
  /** Trace time (µs) around the RPC: the probes fire inside it, on node 0. */
  startT: number;
  endT: number;
}

const APS_LINE = /\[conformance\] Fee non-grouped = (\d+), grouped = (\d+), using (grouped|non-grouped)/g;

async function send(ctx: ConformanceContext, to: string, amountBtc: number, subtractFee: boolean, coinValue: number): Promise<SendTruth> {
  const rpc = ctx.rpc(0);
  const now = () => Number(process.hrtime.bigint() - ctx.network.startedAtNs) / 1000;
  const startT = now();
  const logBefore = (await readFile(ctx.network.node(0).debugLogPath, 'utf8')).length;
  const txid = await walletCall<string>(rpc, SELECTION_WALLET, 'sendtoaddress', to, amountBtc, '', '', subtractFee);
  const endT = now();
  const tx = await walletCall<{ fee: number; details: { vout: number; address?: string; category: string }[]; hex: string }>(rpc, SELECTION_WALLET, 'gettransaction', txid);
  const decoded = await walletCall<{ vout: { n: number; scriptPubKey: { address?: string } }[] }>(rpc, SELECTION_WALLET, 'decoderawtransaction', tx.hex);
  const change = decoded.vout.find((o) => o.scriptPubKey.address !== to);
  const log = (await readFile(ctx.network.node(0).debugLogPath, 'utf8')).slice(logBefore);
  const aps = [...log.matchAll(APS_LINE)].at(-1);
  return {
    txid,
    amount: sats(amountBtc),
    fee: sats(-tx.fee),
    changePos: change ? change.n : -1,
    selectedValue: coinValue,
    ...(aps ? { apsLog: { normalFee: Number(aps[1]), groupedFee: Number(aps[2]), usedGrouped: aps[3] === 'grouped' } } : {}),
    startT,
    endT,
  };
}

export interface SelectionTruth {
  withChange: SendTruth;
  withoutChange: SendTruth;
}

/** Fund a fresh wallet with one coin, spend part of it (change), then all of what is left (no change). */
export async function selectCoins(ctx: ConformanceContext, ledger: Ledger): Promise<SelectionTruth> {
  const rpc = ctx.rpc(0);
  await ctx.network.ensureWallet(0);
  await call(rpc, 'createwallet', SELECTION_WALLET);
  const own = await walletCall<string>(rpc, SELECTION_WALLET, 'getnewaddress');
  const funding = await walletCall<string>(rpc, WALLET, 'sendtoaddress', own, 1);
  await ledger.recordMempoolEntry(funding);
  await ledger.mine(1);
  const to = await ctx.network.newAddress(0);
  const withChange = await send(ctx, to, 0.4, false, sats(1));
  await ledger.recordMempoolEntry(withChange.txid);
  const balance = await walletCall<number>(rpc, SELECTION_WALLET, 'getbalance');
  const leftover = await walletCall<{ amount: number }[]>(rpc, SELECTION_WALLET, 'listunspent', 0);
  const withoutChange = await send(ctx, to, balance, true, leftover.reduce((sum, u) => sum + sats(u.amount), 0));
  await ledger.recordMempoolEntry(withoutChange.txid);
  return { withChange, withoutChange };
}

type SelectionEvent = ReturnType<ConformanceContext['events']>[number];

export function verifyCoinSelection(ctx: ConformanceContext, truth: SelectionTruth | undefined): void {
  if (!truth) return;
  const names = ['coin_selection:selected_coins', 'coin_selection:normal_create_tx_internal', 'coin_selection:attempting_aps_create_tx', 'coin_selection:aps_create_tx_internal'] as const;
  for (const name of names) {
    const check = ctx.check(name);
    if (check) check.fired = ctx.events(name).length;
  }
  const sends = [truth.withChange, truth.withoutChange];
  sends.forEach((sent, index) => {
    const mine = ctx.network.trace.events.filter((e) => e.node === 0 && e.tracepoint.startsWith('coin_selection:') && e.t >= sent.startT && e.t <= sent.endT);
    verifySend(ctx, sent, mine, index === 0 ? 'the send with change' : 'the send without change');
  });
}

function verifySend(ctx: ConformanceContext, sent: SendTruth, events: SelectionEvent[], label: string): void {
  const of = <N extends string>(name: N) => events.filter((e) => e.tracepoint === name);
  const noChange = sent.changePos === -1;
  // Before v27 a transaction without change reported an unspecified change position (catalog).
  const changeKnown = !noChange || versionAtLeast(ctx.version, '27.0');

  const normal = ctx.check('coin_selection:normal_create_tx_internal');
  const normalEvents = of('coin_selection:normal_create_tx_internal');
  if (normal) {
    const event = normalEvents[0];
    if (!event || event.tracepoint !== 'coin_selection:normal_create_tx_internal') normal.missing('wallet_name', `for ${label}`);
    else {
      normal.equal('wallet_name', SELECTION_WALLET, event.args.wallet_name, label);
      normal.equal('success', true, event.args.success, label);
      // One coin: both attempts build the same transaction, so the normal fee is the sent one.
      normal.equal('fee', sent.apsLog?.normalFee ?? sent.fee, event.args.fee, `${label}: fee of the sent transaction`);
      if (noChange && changeKnown) normal.equal('change_pos', -1, event.args.change_pos, `${label}: no change output`);
      else if (!noChange) normal.oneOf('change_pos', [0, 1], event.args.change_pos, `${label}: two outputs, change placed at random`);
    }
  }

  const selected = ctx.check('coin_selection:selected_coins');
  const selectedEvents = of('coin_selection:selected_coins');
  if (selected) {
    if (selectedEvents.length === 0) selected.missing('wallet_name', `for ${label}`);
    for (const event of selectedEvents) {
      if (event.tracepoint !== 'coin_selection:selected_coins') continue;
      selected.equal('wallet_name', SELECTION_WALLET, event.args.wallet_name, label);
      selected.oneOf('algorithm', algorithmNames(ctx.version), event.args.algorithm, label);
      selected.equal('selected_value', sent.selectedValue, event.args.selected_value, `${label}: the wallet's only coin`);
      // The target is the payment plus the fee of everything but the inputs: above the amount
      // (the amount less the fee when the fee is subtracted), and covered by the selection.
      const floor = sent.changePos === -1 ? sent.amount - sent.fee : sent.amount;
      selected.within('target', floor, sent.selectedValue, event.args.target, `${label}: payment ≤ target ≤ selected value`);
      // Waste = input fee at (feerate − long-term feerate) + change cost or excess: never more than what is not paid out.
      selected.within('waste', -sent.selectedValue, sent.selectedValue - floor, event.args.waste, `${label}: bounded by the selection`);
    }
  }

  const attempting = ctx.check('coin_selection:attempting_aps_create_tx');
  const attemptEvents = of('coin_selection:attempting_aps_create_tx');
  const aps = ctx.check('coin_selection:aps_create_tx_internal');
  const apsEvents = of('coin_selection:aps_create_tx_internal');
  if (attempting) {
    const event = attemptEvents[0];
    if (!event || event.tracepoint !== 'coin_selection:attempting_aps_create_tx') attempting.missing('wallet_name', `for ${label} (the wallet does not avoid partial spends, so APS is tried)`);
    else attempting.equal('wallet_name', SELECTION_WALLET, event.args.wallet_name, label);
  }
  if (aps) {
    const event = apsEvents[0];
    if (!event || event.tracepoint !== 'coin_selection:aps_create_tx_internal') aps.missing('wallet_name', `for ${label}`);
    else {
      aps.equal('wallet_name', SELECTION_WALLET, event.args.wallet_name, label);
      aps.equal('success', true, event.args.success, label);
      const usedGrouped = sent.apsLog?.usedGrouped ?? true;
      aps.equal('use_aps', usedGrouped, event.args.use_aps, `${label}: equal fees and -maxapsfee 0 use the grouped transaction${sent.apsLog ? ' (debug.log)' : ''}`);
      aps.equal('fee', sent.apsLog?.groupedFee ?? sent.fee, event.args.fee, `${label}: fee of the sent transaction`);
      if (usedGrouped && changeKnown) aps.equal('change_pos', sent.changePos, event.args.change_pos, `${label}: change output of the sent transaction`);
    }
  }
}
