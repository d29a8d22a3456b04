import { appendFileSync, mkdirSync, readlinkSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { dir, type DirectoryResult } from 'tmp-promise';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isHarnessError, type HarnessError } from '../harness/common/errors.js';
import { LogFollower, type LogFollowOptions } from '../tracing/log-follow.js';

/** Lines a follower delivered, with a way to wait (on the callback, not a poll) for the n-th. */
class LineCollector {
  readonly lines: string[] = [];
  readonly errors: HarnessError[] = [];
  private waiters: Array<{ count: number; resolve: () => void }> = [];

  readonly onLine = (line: string): void => {
    this.lines.push(line);
    this.waiters = this.waiters.filter((w) => (this.lines.length >= w.count ? (w.resolve(), false) : true));
  };
  readonly onError = (error: HarnessError): void => {
    this.errors.push(error);
  };

  waitForCount(count: number): Promise<void> {
    if (this.lines.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }
}

function openFds(): string[] {
  return readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      return [readlinkSync(`/proc/self/fd/${fd}`)];
    } catch {
      return [];
    }
  });
}

/** Live handles of a kind, once pending closes completed (libuv runs close callbacks after the check phase, so two turns). */
async function liveHandles(kind: 'FSEventWrap' | 'Timeout'): Promise<number> {
  for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve));
  return process.getActiveResourcesInfo().filter((r) => r === kind).length;
}

describe('LogFollower', () => {
  let tmp: DirectoryResult;
  const followers: LogFollower[] = [];

  beforeEach(async () => {
    tmp = await dir({ unsafeCleanup: true });
  });
  afterEach(async () => {
    await Promise.all(followers.splice(0).map((f) => f.close()));
    await tmp.cleanup();
  });

  async function follow(path: string, collector: LineCollector, extra: Partial<LogFollowOptions> = {}): Promise<LogFollower> {
    const follower = await LogFollower.open(path, { onLine: collector.onLine, onError: collector.onError, ...extra });
    followers.push(follower);
    return follower;
  }

  it('joins lines appended in fragments split mid-line and mid-character', async () => {
    const path = join(tmp.path, 'debug.log');
    writeFileSync(path, '');
    const lines = new LineCollector();
    await follow(path, lines);

    const euro = Buffer.from('€'); // 3 bytes: a chunk boundary inside it must not garble it
    const fragments = [Buffer.from('sending ver'), Buffer.from('sion (117 bytes) peer=0\nreceived: '), Buffer.from('verack (0 bytes) peer=0\ncost '), euro.subarray(0, 1), euro.subarray(1), Buffer.from('5\n')];
    for (const fragment of fragments) {
      appendFileSync(path, fragment);
      // Let each fragment be read on its own, so the split really happens across reads.
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await lines.waitForCount(3);
    expect(lines.lines).toEqual(['sending version (117 bytes) peer=0', 'received: verack (0 bytes) peer=0', 'cost €5']);
    expect(lines.errors).toEqual([]);
  });

  it('waits for a file created late, in a directory that does not exist yet, and reads it from the first byte', async () => {
    const path = join(tmp.path, 'regtest', 'debug.log');
    const lines = new LineCollector();
    const opening = follow(path, lines);
    await new Promise((resolve) => setTimeout(resolve, 30));
    mkdirSync(join(tmp.path, 'regtest'));
    writeFileSync(path, 'first\nsecond\n');
    await opening;
    appendFileSync(path, 'third\n');
    await lines.waitForCount(3);
    expect(lines.lines).toEqual(['first', 'second', 'third']);
  });

  it('fails with the cause and the fix when the file never appears', async () => {
    const path = join(tmp.path, 'nowhere', 'debug.log');
    const error = await LogFollower.open(path, { onLine: () => undefined, onError: () => undefined, appearTimeoutMs: 200 }).catch((e: unknown) => e);
    expect(isHarnessError(error, 'TRACER_FAILED')).toBe(true);
    expect((error as HarnessError).message).toContain(path);
    expect((error as HarnessError).fix).toMatch(/node started/);
    expect(await liveHandles('FSEventWrap')).toBe(0);
  });

  it('gives up waiting when aborted', async () => {
    const controller = new AbortController();
    const opening = LogFollower.open(join(tmp.path, 'never.log'), { onLine: () => undefined, onError: () => undefined, signal: controller.signal });
    controller.abort();
    await expect(opening).rejects.toThrow(/abort/i);
    expect(await liveHandles('FSEventWrap')).toBe(0);
  });

  it('neither loses nor duplicates a line while another process writes 20000 lines in random fragments', async () => {
    const path = join(tmp.path, 'debug.log');
    const lines = new LineCollector();
    const count = 20_000;
    // The writer is a separate process, so reads and writes really interleave.
    const writer = `
      const fs = require('node:fs');
      const fd = fs.openSync(${JSON.stringify(path)}, 'a');
      let text = '';
      for (let i = 0; i < ${count}; i++) text += 'line ' + i + ' ' + 'x'.repeat(i % 97) + '\\n';
      let seed = 7, at = 0;
      const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
      (function write() {
        for (let k = 0; k < 20 && at < text.length; k++) {
          const n = 1 + (next() % 300);
          fs.writeSync(fd, text.slice(at, at + n));
          at += n;
        }
        if (at < text.length) setImmediate(write); else fs.closeSync(fd);
      })();`;
    const opening = follow(path, lines);
    await execa(process.execPath, ['-e', writer]);
    const follower = await opening;
    await lines.waitForCount(count);
    await follower.close();
    expect(lines.lines).toHaveLength(count);
    lines.lines.forEach((line, i) => {
      if (line !== `line ${i} ${'x'.repeat(i % 97)}`) expect.fail(`line ${i} is ${JSON.stringify(line)}`);
    });
    expect(follower.stats().unterminatedBytes).toBe(0);
  });

  it('close() reads to EOF first, keeps an unterminated line back, and releases the handle and watcher', async () => {
    const path = join(tmp.path, 'debug.log');
    writeFileSync(path, 'a\n');
    const watchersBefore = await liveHandles('FSEventWrap');
    const timersBefore = await liveHandles('Timeout');
    const lines = new LineCollector();
    const follower = await follow(path, lines);
    expect(openFds()).toContain(path);
    expect(await liveHandles('FSEventWrap')).toBe(watchersBefore + 1);
    expect(await liveHandles('Timeout')).toBe(timersBefore + 1);

    // Written right before close: no notification has been handled yet.
    appendFileSync(path, 'b\nc\nhalf a li');
    await follower.close();
    expect(lines.lines).toEqual(['a', 'b', 'c']);
    expect(follower.stats()).toMatchObject({ lines: 3, unterminatedBytes: 'half a li'.length });
    expect(follower.position).toBe('a\nb\nc\n'.length);
    expect(openFds()).not.toContain(path);
    expect(await liveHandles('FSEventWrap')).toBe(watchersBefore);
    expect(await liveHandles('Timeout')).toBe(timersBefore);
  });

  it('a successor started at position() continues exactly where its predecessor stopped', async () => {
    const path = join(tmp.path, 'debug.log');
    writeFileSync(path, 'one\ntw');
    const first = new LineCollector();
    const predecessor = await follow(path, first);
    await predecessor.close();
    appendFileSync(path, 'o\nthree\n');
    const second = new LineCollector();
    await follow(path, second, { from: predecessor.position });
    await second.waitForCount(2);
    expect(first.lines).toEqual(['one']);
    expect(second.lines).toEqual(['two', 'three']);
  });

  it("from: 'end' skips what is there, including the tail of a line being written", async () => {
    const path = join(tmp.path, 'debug.log');
    writeFileSync(path, 'old 1\nold 2\nold li');
    const lines = new LineCollector();
    await follow(path, lines, { from: 'end' });
    appendFileSync(path, 'ne 3\nnew 1\n');
    await lines.waitForCount(1);
    expect(lines.lines).toEqual(['new 1']);
  });

  it('reports lost lines when the file shrinks under it', async () => {
    const path = join(tmp.path, 'debug.log');
    writeFileSync(path, 'a\nb\n');
    const lines = new LineCollector();
    const follower = await follow(path, lines);
    await lines.waitForCount(2);
    truncateSync(path, 0);
    await follower.close(); // the final drain notices the shrink even if the watcher has not fired yet
    expect(lines.errors.map((e) => e.code)).toEqual(['TRACE_EVENTS_LOST']);
    expect(lines.errors[0]?.fix).toMatch(/shrinkdebugfile/);
  });
});
