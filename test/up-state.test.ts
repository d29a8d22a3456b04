import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { findUpState, listUpStates, upStateDir, writeUpState } from '../harness/cli/up-state.js';
import { HarnessError } from '../harness/common/errors.js';

/** The state file `up` leaves for `cli`: private to the user, never followed through a symlink. */
let runtime: string;
let env: NodeJS.ProcessEnv;
beforeEach(() => {
  runtime = mkdtempSync(join(tmpdir(), 'up-state-'));
  env = { XDG_RUNTIME_DIR: runtime };
});
afterEach(() => rmSync(runtime, { recursive: true, force: true }));

const state = { pid: process.pid, dir: '/x', bitcoind: '/b', nodes: [{ index: 0, p2pPort: 1, rpcPort: 2, datadir: '/x/node0' }] };

function errorOf(run: () => unknown): HarnessError {
  try {
    run();
  } catch (error) {
    return error as HarnessError;
  }
  throw new Error('expected an error');
}

describe('up state file', () => {
  test('written 0600 in a 0700 per-user directory, found, and removed', () => {
    const remove = writeUpState(state, env);
    expect(findUpState(undefined, env)).toEqual(state);
    remove();
    expect(errorOf(() => findUpState(undefined, env)).message).toBe('no regtest-harness up is running for this user');
  });

  test('a state directory that is a symlink, or open to others, is refused', () => {
    const elsewhere = join(runtime, 'elsewhere');
    mkdirSync(elsewhere, { mode: 0o700 });
    symlinkSync(elsewhere, upStateDir(env));
    expect(errorOf(() => writeUpState(state, env)).message).toContain('is not a private directory of this user');
    expect(readdirSync(elsewhere)).toEqual([]); // nothing written through the link
    rmSync(upStateDir(env));
    mkdirSync(upStateDir(env));
    chmodSync(upStateDir(env), 0o777);
    expect(errorOf(() => listUpStates(env)).message).toContain('is not a private directory of this user');
  });

  test('the file of an up that is gone (pid not alive) is ignored and removed', () => {
    const dir = upStateDir(env);
    mkdirSync(dir, { mode: 0o700 });
    writeFileSync(join(dir, '999999999.json'), JSON.stringify({ ...state, pid: 999_999_999 }));
    expect(listUpStates(env)).toEqual([]);
    expect(readdirSync(dir)).toEqual([]);
  });
});
