import { lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { isProcessAlive } from '../common/child-process/index.js';
import { HarnessError } from '../common/errors.js';

/**
 * How `regtest-harness cli` finds the network a running `up` started: `up` writes one small file,
 * `<pid>.json`, into a per-user private directory and removes it when it stops. The file holds
 * only where things are (ports, datadirs), never a secret: the RPC password stays in the `up`
 * process, and `cli` authenticates with the cookie bitcoind writes into each node's 0700 datadir.
 *
 * The directory is `$XDG_RUNTIME_DIR/regtest-harness` (a per-user runtime dir), else
 * `~/.cache/regtest-harness/up`: never a shared world-writable place. It must be a real directory
 * (not a symlink) owned by this user with no group/other permissions, or nothing is read or written.
 */
export interface UpState {
  pid: number;
  /** The network directory (node datadirs are inside). */
  dir: string;
  bitcoind: string;
  nodes: UpStateNode[];
}

export interface UpStateNode {
  index: number;
  p2pPort: number;
  rpcPort: number;
  datadir: string;
}

export function upStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const runtime = env.XDG_RUNTIME_DIR;
  return runtime ? join(runtime, 'regtest-harness') : join(homedir(), '.cache', 'regtest-harness', 'up');
}

/** The state directory, created 0700 if missing, and checked to be ours and private. */
function privateStateDir(env: NodeJS.ProcessEnv): string {
  const dir = upStateDir(env);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new HarnessError('DATADIR_UNWRITABLE', `cannot create the up state directory ${dir}: ${(error as Error).message}`, {
      fix: 'set XDG_RUNTIME_DIR to a private directory of yours, or make ~/.cache writable',
      cause: error,
    });
  }
  const stat = lstatSync(dir);
  const uid = process.getuid?.();
  if (!stat.isDirectory() || (uid !== undefined && stat.uid !== uid) || (stat.mode & 0o077) !== 0) {
    throw new HarnessError('DATADIR_UNWRITABLE', `the up state directory ${dir} is not a private directory of this user (a symlink, another owner, or group/other permissions)`, {
      fix: `remove ${dir} (it is re-created 0700), or set XDG_RUNTIME_DIR to a private directory of yours`,
    });
  }
  return dir;
}

/** Write this process's state (atomically: a private temp file, then rename). Returns the remover. */
export function writeUpState(state: UpState, env: NodeJS.ProcessEnv = process.env): () => void {
  const dir = privateStateDir(env);
  const file = join(dir, `${state.pid}.json`);
  const temp = join(dir, `${state.pid}.json.tmp`);
  rmSync(temp, { force: true });
  writeFileSync(temp, `${JSON.stringify(state)}\n`, { mode: 0o600, flag: 'wx' });
  renameSync(temp, file);
  return () => rmSync(file, { force: true });
}

function parseState(text: string): UpState | undefined {
  try {
    const value = JSON.parse(text) as UpState;
    const nodesOk = Array.isArray(value.nodes) && value.nodes.every((n) => Number.isInteger(n.index) && Number.isInteger(n.rpcPort) && typeof n.datadir === 'string');
    return Number.isInteger(value.pid) && typeof value.dir === 'string' && nodesOk ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Every running `up` of this user; files of `up`s that died (kill -9) are removed on the way. */
export function listUpStates(env: NodeJS.ProcessEnv = process.env): UpState[] {
  const dir = privateStateDir(env);
  const states: UpState[] = [];
  for (const name of readdirSync(dir)) {
    if (!/^\d+\.json$/.test(name)) continue;
    const file = join(dir, name);
    const stat = lstatSync(file);
    if (!stat.isFile()) continue;
    const state = parseState(readFileSync(file, 'utf8'));
    if (!state || !isProcessAlive(state.pid)) {
      rmSync(file, { force: true });
      continue;
    }
    states.push(state);
  }
  return states.sort((a, b) => a.pid - b.pid);
}

/** The one running `up` (or the one with `pid`); a one-line error when there is none or several. */
export function findUpState(pid: number | undefined, env: NodeJS.ProcessEnv = process.env): UpState {
  const states = listUpStates(env);
  if (pid !== undefined) {
    const state = states.find((s) => s.pid === pid);
    if (!state) throw new HarnessError('USAGE', `no regtest-harness up with pid ${pid} is running (running: ${states.map((s) => s.pid).join(', ') || 'none'})`, { fix: 'pass --up with the pid that up printed, or leave it out' });
    return state;
  }
  if (states.length === 0) {
    throw new HarnessError('USAGE', 'no regtest-harness up is running for this user', { fix: "start one in another terminal with 'regtest-harness up', then run this again" });
  }
  if (states.length > 1) {
    throw new HarnessError('USAGE', `${states.length} regtest-harness up networks are running (pids ${states.map((s) => s.pid).join(', ')})`, { fix: 'pick one with --up PID' });
  }
  return states[0]!;
}
