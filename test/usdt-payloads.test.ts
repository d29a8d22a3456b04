/**
 * Whole payloads on the newest shared Core build: with bpftrace ≥ 0.20 (one probe body per
 * tracepoint, `max_strlen` 4096) every message up to 4096 bytes is captured whole, through the
 * real CLI (`run block-relay --tracer usdt --json`). bpftrace 0.17 cut them at 200 bytes.
 */
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { locateBpftrace, supportsOneBody } from '../tracing/bpftrace/locate.js';
import { ONE_BODY_MAX_STRLEN } from '../tracing/bpftrace/program.js';
import { builtCli, buildSkipReason } from './helpers/built.js';
import { coreBuildsSkipReason, newestCoreBuild } from './helpers/core-builds.js';

const build = newestCoreBuild();
const bpftrace = locateBpftrace();

async function skipReason(): Promise<string | false> {
  const missing = coreBuildsSkipReason() || buildSkipReason();
  if (missing) return missing;
  if (process.getuid?.() !== 0) return 'not root: bpftrace needs root to attach uprobes';
  if (!bpftrace || !supportsOneBody(bpftrace.version)) return `bpftrace ≥ 0.20 is needed for whole payloads (${bpftrace ? bpftrace.reason : 'none installed'}); node scripts/setup.mjs provides one`;
  return false;
}
const skip = await skipReason();

interface JsonEvent {
  tracepoint: string;
  args: { msg_type?: string; msg_size?: number; msg_captured?: number; msg?: string };
}

describe.skipIf(skip)(skip ? `whole payloads — skipped: ${skip}` : `whole payloads on ${build?.tag}`, () => {
  test('run block-relay --tracer usdt --json: msg_captured == msg_size for every message up to 4096 bytes', async () => {
    const result = await execa(process.execPath, [builtCli(), 'run', 'block-relay', '--tracer', 'usdt', '--json', '--bitcoind', build!.bitcoind], { reject: false });
    expect(result.exitCode, result.stderr).toBe(0);
    const events = String(result.stdout)
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as JsonEvent)
      .filter((e) => e.tracepoint === 'net:inbound_message' || e.tracepoint === 'net:outbound_message');
    expect(events.length).toBeGreaterThan(0);
    for (const e of events) {
      const { msg_size: size, msg_captured: captured, msg } = e.args;
      expect(captured, `${e.tracepoint} ${e.args.msg_type}`).toBe(Math.min(size!, ONE_BODY_MAX_STRLEN));
      expect(msg).toHaveLength(captured! * 2);
    }
    // Not vacuous: blocks and compact blocks are over bpftrace 0.17's 200-byte cut, both ways.
    const large = events.filter((e) => e.args.msg_size! > 200);
    expect(large.map((e) => e.args.msg_type)).toEqual(expect.arrayContaining(['block', 'cmpctblock']));
    expect(new Set(large.map((e) => e.tracepoint))).toEqual(new Set(['net:inbound_message', 'net:outbound_message']));
  });
});
