/** Probe sites that are no longer a NOP (a breakpoint written into the file) are found, on a real USDT ELF. */
import { copyFile, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readProbeNotes } from '../tracing/elf-notes.js';
import { damagedProbeSites } from '../tracing/probe-sites.js';
import { offsetOf } from './helpers/elf-offset.js';
import { buildEmitter, emitterSkipReason } from './helpers/emitter.js';

describe.skipIf(emitterSkipReason() || process.arch !== 'x64')('probe-site integrity', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('an unmodified ELF has a NOP at every site; an int3 written at one site is reported for that tracepoint only', async () => {
    const emitter = await buildEmitter();
    const notes = await readProbeNotes(emitter);
    expect(notes.length).toBeGreaterThan(0);
    expect(await damagedProbeSites(emitter, notes)).toEqual([]);

    const dir = await mkdtemp(join(tmpdir(), 'probe-sites-'));
    dirs.push(dir);
    const copy = join(dir, 'emitter');
    await copyFile(emitter, copy);
    const target = notes.find((n) => n.name === 'outbound_message')!;
    const handle = await open(copy, 'r+');
    try {
      // The site's file offset from readelf, not from the code under test.
      await handle.write(Buffer.from([0xcc]), 0, 1, await offsetOf(copy, BigInt(target.location)));
    } finally {
      await handle.close();
    }
    expect(await damagedProbeSites(copy, notes)).toEqual([{ tracepoint: 'net:outbound_message', location: target.location, found: 'cc' }]);
  });
});
