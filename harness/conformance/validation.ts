/**
 * validation:block_connected against getblock: every traced block connection (any node) must be
 * a block the suite mined, with its height, transaction count, inputs and sigops; on node 0 the
 * duration must fit the RPC call that connected it, in the unit of that Core version.
 */
import { versionAtLeast } from '../common/version.js';
import type { ConformanceContext } from './context.js';
import type { Ledger } from './ledger.js';

/** µs up to v24 (v24.2 measured), ns since v25 (tracing/catalog.ts, the 25.0 change of block_connected). */
export function durationUnit(version: string): 'ns' | 'µs' {
  return versionAtLeast(version, '25.0') ? 'ns' : 'µs';
}

/** Connecting a block takes well over a microsecond: a value below this in ns is in the wrong unit. */
const MIN_CONNECT_NS = 1_000;

export function verifyValidation(ctx: ConformanceContext, ledger: Ledger): void {
  const check = ctx.check('validation:block_connected');
  if (!check) return;
  const events = ctx.events('validation:block_connected');
  check.fired = events.length;
  const unit = durationUnit(ctx.version);
  for (const block of ledger.blocks.values()) {
    if (!events.some((e) => e.node === 0 && e.args.block_hash === block.hash)) check.missing('block_hash', `on node 0 for block ${block.hash} (height ${block.height})`);
  }
  for (const event of events) {
    const block = ledger.blocks.get(event.args.block_hash);
    if (!check.equal('block_hash', true, block !== undefined, `a block the suite mined, got ${event.args.block_hash}`) || !block) continue;
    const about = `getblock ${block.height}`;
    check.equal('height', block.height, event.args.height, about);
    check.equal('transactions', block.transactions, event.args.transactions, about);
    check.equal('inputs', block.inputs, event.args.inputs, about);
    if (block.sigops !== undefined) check.equal('sigops', block.sigops, event.args.sigops, `getblocktemplate sigops of block ${block.height}`);
    if (event.node !== 0) continue;
    const [lo, hi] = unit === 'ns' ? [MIN_CONNECT_NS, block.elapsedNs] : [1, Math.ceil(block.elapsedNs / 1000)];
    check.within('duration', lo, hi, event.args.duration, `${unit}, within the generatetoaddress call`);
  }
}
