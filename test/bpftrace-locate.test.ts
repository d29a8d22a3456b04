/** Which bpftrace the tracer runs, and the cheap privilege check (no trial bpftrace run). */
import { mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BPFTRACE_ENV, bpftraceVersion, locateBpftrace, parseBpftraceVersion, supportsOneBody } from '../tracing/bpftrace/locate.js';
import { hasTracingCapabilities } from '../tracing/bpftrace/session.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('bpftrace location', () => {
  it('parses versions and knows which ones fit a hit in one probe body', () => {
    expect(parseBpftraceVersion('bpftrace v0.17.0\n')).toBe('0.17.0');
    expect(parseBpftraceVersion('bpftrace v0.23.2')).toBe('0.23.2');
    expect(parseBpftraceVersion('something else')).toBeUndefined();
    expect(supportsOneBody('0.17.0')).toBe(false);
    expect(supportsOneBody('0.20.0')).toBe(true);
    expect(supportsOneBody(undefined)).toBe(false);
  });

  it('runs --version once per file and remembers it in the cache dir, keyed by inode, mtime and size', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bpftrace-locate-'));
    dirs.push(dir);
    const fake = join(dir, 'bpftrace');
    const counter = join(dir, 'runs');
    await writeFile(fake, `#!/bin/sh\necho run >> ${counter}\necho "bpftrace v0.21.0"\n`);
    await chmod(fake, 0o755);
    expect(bpftraceVersion(fake, dir)).toBe('0.21.0');
    expect(bpftraceVersion(fake, dir)).toBe('0.21.0');
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(counter, 'utf8').trim().split('\n')).toHaveLength(1);
    expect(Object.values(JSON.parse(readFileSync(join(dir, 'bpftrace-versions.json'), 'utf8')) as object)).toEqual(['0.21.0']);
    // A changed file is asked again.
    await writeFile(fake, `#!/bin/sh\necho run >> ${counter}\necho "bpftrace v0.22.1 (changed)"\n`);
    expect(bpftraceVersion(fake, dir)).toBe('0.22.1');
  });

  it(`${BPFTRACE_ENV} wins, and says so`, () => {
    const located = locateBpftrace({ ...process.env, [BPFTRACE_ENV]: '/usr/bin/bpftrace' });
    expect(located).toMatchObject({ path: '/usr/bin/bpftrace', source: 'env', reason: expect.stringContaining(BPFTRACE_ENV) });
  });

  it('sees CAP_BPF and CAP_PERFMON in the ambient set, and not when one is missing', () => {
    const both = ((1n << 38n) | (1n << 39n)).toString(16).padStart(16, '0');
    expect(hasTracingCapabilities(`CapInh:\t0000000000000000\nCapAmb:\t${both}\n`)).toBe(true);
    expect(hasTracingCapabilities(`CapAmb:\t${(1n << 39n).toString(16).padStart(16, '0')}\n`)).toBe(false);
    expect(hasTracingCapabilities('CapAmb:\t0000000000000000\n')).toBe(false);
  });
});
