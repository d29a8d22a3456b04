import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { bitcoindSkipReason, testBinary } from './helpers/bitcoind.js';
import { builtCli, buildSkipReason } from './helpers/built.js';
import { chromiumSkipReason, withPage } from './helpers/chromium.js';
import { usdtReadiness } from '../harness/doctor/tracer-decision.js';

const EVENT_KEYS = ['t', 'node', 'tracepoint', 'args', 'peer_node', 'source'];

async function cli(args: string[]) {
  const binary = await testBinary();
  return execa(process.execPath, [builtCli(), ...args], { reject: false, env: { BITCOIND: binary.path, NO_COLOR: '1' } });
}

describe.skipIf(bitcoindSkipReason() || buildSkipReason())('regtest-harness run (the built CLI, real bitcoind)', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'cli-run-'));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  test('run handshake --json: stdout is NDJSON events only, both directions of the handshake, peer_node resolved', async () => {
    const result = await cli(['run', 'handshake', '--tracer', 'log', '--json']);
    expect(result.exitCode, result.stderr).toBe(0);
    const events = result.stdout.trimEnd().split('\n').map((line) => JSON.parse(line));
    for (const event of events) expect(Object.keys(event)).toEqual(EVENT_KEYS);
    const seen = (node: number, tracepoint: string, msgType: string) =>
      events.some((e) => e.node === node && e.tracepoint === tracepoint && e.args.msg_type === msgType && e.peer_node === 1 - node && e.source === 'log');
    for (const msgType of ['version', 'wtxidrelay', 'sendaddrv2', 'verack']) {
      for (const node of [0, 1]) {
        expect(seen(node, 'net:outbound_message', msgType), `node${node} sends ${msgType}`).toBe(true);
        expect(seen(node, 'net:inbound_message', msgType), `node${node} receives ${msgType}`).toBe(true);
      }
    }
    expect(result.stderr).toMatch(/^tracer: log/m); // which tracer and why, on stderr
    expect(result.stderr).toContain('PASS handshake');
  });

  test('run handshake (human): a timeline with arrows, then the expectations', async () => {
    const result = await cli(['run', 'handshake', '--tracer', 'log']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/node1 ──version \(\d+ B\)─+▶ node0/);
    expect(result.stdout).toMatch(/node0 ◀──version \(\d+ B\)─+ node1/);
    expect(result.stdout).toContain("✓ node1 (dialer) sends 'version' first");
  });

  test.skipIf(chromiumSkipReason())('run handshake --report x.html renders in Chromium with one arrow per traced send', async () => {
    const report = join(scratch, 'handshake.html');
    const result = await cli(['run', 'handshake', '--tracer', 'log', '--report', report]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(existsSync(report)).toBe(true);
    await withPage(async (page) => {
      const errors: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      await page.goto(`file://${report}`);
      const arrows = await page.locator('.arrow').count();
      const sends = (result.stdout.match(/──▶|─+▶/g) ?? []).length;
      expect(arrows).toBeGreaterThan(0);
      expect(arrows).toBe(sends);
      expect(await page.getByText('node0').first().isVisible()).toBe(true);
      const png = await page.screenshot({ fullPage: true });
      expect(png.length).toBeGreaterThan(10_000);
      expect(errors).toEqual([]);
    });
  });

  test('a failed expectation exits 1 with the readable diff (v1 handshake scenario forced onto v2 transport)', async () => {
    const result = await cli(['run', 'handshake', '--tracer', 'log', '--v2transport', 'on']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('✗ connection 1→0 uses v1 transport (getpeerinfo)');
    expect(result.stderr).toContain('getpeerinfo says v2');
    expect(result.stderr).toContain('node0 debug.log'); // the failure bundle
  });

  test('the same scenario on two binaries is reported per binary, with their tracepoint differences', async () => {
    const binary = await testBinary();
    const result = await cli(['run', 'handshake', '--tracer', 'log', '--bitcoind', `${binary.path},${binary.path}`]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain('═══ across versions ═══');
    expect(result.stdout.match(/^PASS {2}/gm)).toHaveLength(2);
    expect(result.stdout).toContain('tracepoints ');
  });

  test('usage and environment errors exit 2 with one line naming the cause and the fix', async () => {
    const unknown = await cli(['run', 'handshak']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
    expect(unknown.stderr).toContain("unknown scenario 'handshak'");
    expect(unknown.stderr).toContain('handshake');
    const badTracer = await cli(['run', 'handshake', '--tracer', 'ebpf']);
    expect(badTracer.exitCode).toBe(2);
    expect(badTracer.stderr).toContain('--tracer must be one of auto, usdt, log');
    const badTopology = await cli(['run', 'handshake', '--topology', '0>0']);
    expect(badTopology.exitCode).toBe(2);
    expect(badTopology.stderr).toContain('self-loop');
    const tooFew = await cli(['run', 'handshake', '--nodes', '1']);
    expect(tooFew.exitCode).toBe(2);
    // --tracer usdt where USDT cannot serve is an environment error naming the fix; where it can, it just runs.
    const ready = await usdtReadiness((await testBinary()).elfPath);
    const usdt = await cli(['run', 'handshake', '--tracer', 'usdt']);
    if (ready.ok) {
      expect(usdt.exitCode, usdt.stderr).toBe(0);
    } else {
      expect(usdt.exitCode).toBe(2);
      expect(usdt.stderr).toMatch(/cannot trace with USDT.*—.*(release|--tracer log)/);
    }
    const unwritable = await cli(['run', 'handshake', '--report', '/proc/no-such-dir/report.html']);
    expect(unwritable.exitCode).toBe(2);
    expect(unwritable.stderr).toContain('cannot write the report');
  });

  test('scenarios --json lists every scenario with its defaults', async () => {
    const result = await cli(['scenarios', '--json']);
    expect(result.exitCode).toBe(0);
    const list = JSON.parse(result.stdout) as { name: string; nodes: number }[];
    expect(list.map((s) => s.name)).toContain('handshake');
    expect(list.map((s) => s.name)).toContain('handshake-v2');
  });
});
