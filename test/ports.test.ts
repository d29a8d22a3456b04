import { execa } from 'execa';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { buildSkipReason, builtLibrary } from './helpers/built.js';
import { allocatePorts, PORT_RANGE_END, PORT_RANGE_START, portClaimsDir, releasePorts } from '../harness/ports.js';

const claim = (port: number) => join(portClaimsDir(), String(port));

describe('port claims', () => {
  test('ports are claimed for this process, bindable, in range, and released', async () => {
    const ports = await allocatePorts(4);
    expect(new Set(ports).size).toBe(4);
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(PORT_RANGE_START);
      expect(port).toBeLessThan(PORT_RANGE_END);
      expect(readFileSync(claim(port), 'utf8')).toBe(String(process.pid));
    }
    releasePorts(ports);
    for (const port of ports) expect(existsSync(claim(port))).toBe(false);
  });

  test.skipIf(buildSkipReason())('processes starting at the same offset over the same stale claims never share a port', async () => {
    // All children scan from the same place (same pool id), where stale claims of a dead pid wait.
    const poolId = 17;
    const start = PORT_RANGE_START + poolId * 400;
    mkdirSync(portClaimsDir(), { recursive: true, mode: 0o700 });
    for (let p = start; p < start + 40; p++) writeFileSync(claim(p), '999999999');
    // Each child holds its claims until every child has allocated (the parent then closes their
    // stdin): a timed hold let a slow child reuse a port an early one had already released.
    const script = `
      const { allocatePorts, releasePorts } = await import(${JSON.stringify(join(dirname(builtLibrary()), 'ports.js'))});
      const ports = await allocatePorts(8);
      console.log(JSON.stringify(ports));
      process.stdin.resume();
      await new Promise((r) => process.stdin.once('end', r));
      releasePorts(ports);`;
    const children = Array.from({ length: 4 }, () =>
      execa(process.execPath, ['--input-type=module', '-e', script], { env: { VITEST_POOL_ID: String(poolId) }, stdin: 'pipe' }),
    );
    await Promise.all(children.map((child) => new Promise((resolve) => child.stdout.once('data', resolve))));
    for (const child of children) child.stdin.end();
    const results = await Promise.all(children);
    const ports = results.flatMap((r) => JSON.parse(r.stdout) as number[]);
    for (let p = start; p < start + 40; p++) if (existsSync(claim(p)) && readFileSync(claim(p), 'utf8') === '999999999') rmSync(claim(p));
    expect(ports).toHaveLength(32);
    expect(new Set(ports).size).toBe(32);
    expect(Math.min(...ports)).toBe(start); // the stale claims were taken over, not skipped
  });
});
