import { once } from 'node:events';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { spawnWatchdog, watchdogMessage } from '../harness/common/child-process/reaper.js';

const scratch: string[] = [];
afterEach(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Play the watchdog's owner: send messages, then close the pipe as a dying owner would. */
async function ownerDies(messages: string[]): Promise<void> {
  const watchdog = spawnWatchdog();
  for (const message of messages) watchdog.stdin!.write(message);
  watchdog.stdin!.end();
  if (watchdog.exitCode === null) await once(watchdog, 'exit');
}

describe('the reaper watchdog', () => {
  test('a datadir root with a newline in it cannot make it delete another directory', async () => {
    const base = mkdtempSync(join(tmpdir(), 'reaper-test-'));
    scratch.push(base);
    const victim = join(base, 'victim');
    mkdirSync(victim);
    writeFileSync(join(victim, 'keep'), 'keep');
    // Under the old "+path <p>" protocol this registered two paths: "<base>/x" and the victim.
    const hostile = join(base, `x\n+path ${victim}`);
    mkdirSync(hostile, { recursive: true }); // "x\n+path " is a directory name; the rest nests below it
    await ownerDies([watchdogMessage('+path', hostile)]);
    expect(existsSync(join(victim, 'keep'))).toBe(true);
    expect(existsSync(hostile)).toBe(false); // the real (odd) path is still cleaned up
  });

  test('a released path is left alone, a guarded one removed', async () => {
    const base = mkdtempSync(join(tmpdir(), 'reaper-test-'));
    scratch.push(base);
    mkdirSync(join(base, 'kept'));
    mkdirSync(join(base, 'gone'));
    await ownerDies([watchdogMessage('+path', join(base, 'kept')), watchdogMessage('+path', join(base, 'gone')), watchdogMessage('-path', join(base, 'kept'))]);
    expect(existsSync(join(base, 'kept'))).toBe(true);
    expect(existsSync(join(base, 'gone'))).toBe(false);
  });

  test('a FIFO in place of a guarded claim does not hang the watchdog', async () => {
    const base = mkdtempSync(join(tmpdir(), 'reaper-test-'));
    scratch.push(base);
    const claim = join(base, '20000');
    execFileSync('mkfifo', [claim]);
    mkdirSync(join(base, 'gone'));
    // The claim is checked before nothing else is left: the watchdog must exit, having removed the path.
    await ownerDies([watchdogMessage('+claim', claim), watchdogMessage('+path', join(base, 'gone'))]);
    expect(existsSync(join(base, 'gone'))).toBe(false);
    expect(existsSync(claim)).toBe(true); // not ours: left in place
  });
});
