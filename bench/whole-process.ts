/**
 * Whole-process figures, start to exit, the way a user meets them: `regtest-harness run handshake`
 * with the log and the usdt tracer, for 2 and 8 nodes, beside a bare cycle (bench/bare-cycle.ts:
 * spawn, addnode, handshakes both ways, stop; no harness) in the same run, interleaved so load
 * changes hit every column alike. Then, in-process, where a usdt network's teardown goes: the
 * dispose itself, and the kernel's uprobe detach that nobody waits for any more.
 */
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BitcoindBinary } from '../harness/binary.js';
import { Network } from '../harness/network.js';
import { defaultPool, UsdtTracer } from '../tracing/bpftrace/usdt-tracer.js';
import type { BenchContext } from './context.js';
import { msSince, ratio, summarize, type Summary } from './stats.js';
import { formatMs, formatRatio, renderTable } from './table.js';

const here = dirname(fileURLToPath(import.meta.url));
const CLI = join(here, '..', 'bin', 'regtest-harness.js');
const BARE = join(here, 'bare-cycle.js');

export type Variant = 'bare' | 'log' | 'usdt';

export interface WholeProcessFigures {
  /** [nodes][variant] → whole-process wall time. */
  runs: Record<number, Partial<Record<Variant, Summary>>>;
  teardown?: { disposeMs: Summary; detachAfterMs: Summary };
  usdtReason?: string;
}

function timeProcess(args: readonly string[]): Promise<number> {
  const start = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { maxBuffer: 64 * 1024 * 1024 }, (error, _stdout, stderr) => {
      if (error) reject(new Error(`${args.join(' ')} failed: ${String(stderr).trim().split('\n').slice(-2).join(' | ') || error.message}`));
      else resolve(msSince(start));
    });
  });
}

function argsFor(variant: Variant, binary: string, nodes: number): string[] {
  if (variant === 'bare') return [BARE, binary, String(nodes)];
  return [CLI, 'run', 'handshake', '--tracer', variant, '--bitcoind', binary, ...(nodes === 2 ? [] : ['--nodes', String(nodes), '--topology', 'line'])];
}

export async function runWholeProcessBench(ctx: BenchContext, binary: BitcoindBinary, usdt: { ok: boolean; reason: string }): Promise<WholeProcessFigures> {
  const variants: Variant[] = usdt.ok ? ['bare', 'log', 'usdt'] : ['bare', 'log'];
  const figures: WholeProcessFigures = { runs: {}, ...(usdt.ok ? {} : { usdtReason: usdt.reason }) };
  for (const nodes of [2, 8]) {
    const samples: Record<Variant, number[]> = { bare: [], log: [], usdt: [] };
    for (let run = 0; run < ctx.runs; run++) {
      for (const variant of variants) {
        ctx.progress(`whole process: ${variant}, ${nodes} nodes, run ${run + 1}/${ctx.runs}`);
        samples[variant].push(await timeProcess(argsFor(variant, binary.path, nodes)));
      }
    }
    figures.runs[nodes] = Object.fromEntries(variants.map((v) => [v, summarize(samples[v])]));
  }
  if (usdt.ok) figures.teardown = await timeTeardown(ctx, binary);
  return figures;
}

/** A 2-node usdt network's dispose, and how long after it the bpftrace process was gone. */
async function timeTeardown(ctx: BenchContext, binary: BitcoindBinary): Promise<WholeProcessFigures['teardown']> {
  const dispose: number[] = [];
  const after: number[] = [];
  for (let run = 0; run < ctx.runs; run++) {
    ctx.progress(`teardown: usdt, 2 nodes, run ${run + 1}/${ctx.runs}`);
    const tracer = new UsdtTracer();
    const network = await Network.start({ nodes: 2, topology: 'line', bitcoind: binary, tracer });
    const start = process.hrtime.bigint();
    await network.dispose();
    dispose.push(msSince(start));
    const disposed = process.hrtime.bigint();
    await defaultPool.waitForExit();
    after.push(msSince(disposed));
  }
  return { disposeMs: summarize(dispose), detachAfterMs: summarize(after) };
}

export function renderWholeProcess(figures: WholeProcessFigures): string {
  const rows: string[][] = [];
  for (const [nodes, byVariant] of Object.entries(figures.runs)) {
    const bare = byVariant.bare;
    for (const variant of ['bare', 'log', 'usdt'] as const) {
      const s = byVariant[variant];
      if (!s) continue;
      rows.push([`${nodes}`, variant === 'bare' ? 'bare bitcoind (no harness)' : `run handshake --tracer ${variant}`, formatMs(s.median), `${formatMs(s.min)}–${formatMs(s.max)}`, variant === 'bare' ? '1.00×' : formatRatio(ratio(s, bare))]);
    }
  }
  const parts = [renderTable([{ header: 'nodes' }, { header: 'whole process', align: 'left' }, { header: 'median' }, { header: 'range' }, { header: 'vs bare' }], rows)];
  if (figures.usdtReason) parts.push(`usdt not measured: ${figures.usdtReason}`);
  if (figures.teardown) {
    const t = figures.teardown;
    parts.push(
      renderTable(
        [{ header: 'usdt teardown, 2 nodes', align: 'left' }, { header: 'median' }],
        [
          ['network.dispose() (nodes stopped, bpftrace SIGKILLed)', formatMs(t.disposeMs.median)],
          ['then, until the kernel has detached the uprobes (not waited for)', formatMs(t.detachAfterMs.median)],
        ],
      ),
    );
  }
  return parts.join('\n\n');
}
