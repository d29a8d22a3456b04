/**
 * The USDT emitter for tests (test/emitter/usdt-emitter.c): compile it once per source version,
 * spawn it, and drive it line by line. It stands in for a USDT-enabled bitcoind: same providers,
 * names, argument C types and semaphores.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { guardProcess, releaseProcess } from '../../harness/common/child-process/reaper.js';
import type { TracepointArgsMap, TracepointName } from '../../tracing/events.js';
import { tracepoint } from '../../tracing/catalog.js';
import { bpftraceBinary } from '../../tracing/bpftrace/session.js';

const here = fileURLToPath(new URL('.', import.meta.url));
// Compiled copies (dist/, bench builds) have no .c beside them: fall back to the checkout we run in.
const TEST_DIR = existsSync(join(here, '../emitter/usdt-emitter.c')) ? join(here, '..') : join(process.cwd(), 'test');
const SOURCE = join(TEST_DIR, 'emitter/usdt-emitter.c');
const BUILD_DIR = join(TEST_DIR, '.build');
const SDT_HEADERS = ['/usr/include/sys/sdt.h', '/usr/include/x86_64-linux-gnu/sys/sdt.h'];

/** Why the emitter-based tracer tests cannot run here, or undefined when they can. */
export function emitterSkipReason(): string | undefined {
  if (process.platform !== 'linux') return 'USDT tracing needs Linux';
  if (process.getuid?.() !== 0) return 'not root: bpftrace needs root to attach uprobes';
  if (!bpftraceBinary()) return 'bpftrace is not installed (apt-get install bpftrace)';
  if (spawnSync('cc', ['--version'], { stdio: 'ignore' }).status !== 0) return 'no C compiler (cc) to build the emitter';
  if (!SDT_HEADERS.some((h) => existsSync(h))) return 'sys/sdt.h is missing (apt-get install systemtap-sdt-dev)';
  return undefined;
}

/** Compiles the emitter into test/.build/, cached by the source's hash; returns the binary's path. */
/**
 * The emitter binary. `instance` gives a private copy (its own inode): uprobes and their semaphore
 * reference counts belong to an inode, so two test files tracing the same file in parallel would
 * raise each other's semaphores. Each file that attaches bpftrace uses its own instance.
 */
export async function buildEmitter(instance?: string): Promise<string> {
  const shared = await buildSharedEmitter();
  if (instance === undefined) return shared;
  const copy = `${shared}-${instance}`;
  if (!existsSync(copy)) {
    const partial = `${copy}.${process.pid}.tmp`;
    await copyFile(shared, partial);
    await chmod(partial, 0o755);
    await rename(partial, copy);
  }
  return copy;
}

/**
 * A variant of the emitter compiled from an edited source (e.g. one argument with the wrong C
 * type, for `probes --check`), cached like the emitter by the edited source's hash. `edit` must
 * change the source: an edit that matches nothing is an error, not a silent copy.
 */
export async function buildEmitterVariant(edit: (source: string) => string): Promise<string> {
  const original = (await readFile(SOURCE)).toString('utf8');
  const edited = edit(original);
  if (edited === original) throw new Error('buildEmitterVariant: the edit did not change the emitter source');
  return compileEmitter(Buffer.from(edited, 'utf8'), 'variant');
}

async function buildSharedEmitter(): Promise<string> {
  return compileEmitter(await readFile(SOURCE), 'emitter');
}

async function compileEmitter(source: Buffer, kind: 'emitter' | 'variant'): Promise<string> {
  const digest = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const binary = join(BUILD_DIR, `usdt-${kind}-${digest}`);
  if (existsSync(binary)) return binary;
  await mkdir(BUILD_DIR, { recursive: true });
  // Build beside the target and rename: concurrent workers never see a half-written binary.
  const partial = `${binary}.${process.pid}.tmp`;
  // The source goes through stdin (-x c -): a variant never exists as a file.
  const result = spawnSync('cc', ['-O2', '-Wall', '-Werror', '-o', partial, '-x', 'c', '-'], { encoding: 'utf8', input: source });
  if (result.status !== 0) throw new Error(`compiling the USDT emitter failed:\n${result.stderr}`);
  await rename(partial, binary);
  return binary;
}

const hexOf = (text: string) => (text.length === 0 ? '-' : Buffer.from(text, 'utf8').toString('hex'));

/** RPC-order hash hex → the 32 internal-order bytes Core passes, as hex. */
export function internalOrderHex(rpcHex: string): string {
  if (!/^[0-9a-f]{64}$/.test(rpcHex)) throw new Error(`not a 32-byte hash: ${rpcHex}`);
  return Buffer.from(rpcHex, 'hex').reverse().toString('hex');
}

/** A `fire` command line for these arguments, in the catalog's order and encoding. */
export function fireLine<N extends TracepointName>(name: N, args: TracepointArgsMap[N]): string {
  const values = args as unknown as Record<string, unknown>;
  const tokens = tracepoint(name).arguments.map((arg) => {
    const value = values[arg.name];
    switch (arg.kind) {
      case 'int':
      case 'uint':
        return String(value);
      case 'bool':
        return value ? '1' : '0';
      case 'string':
        return hexOf(String(value));
      case 'hash32':
        return internalOrderHex(String(value));
      case 'bytes':
        return String(value ?? '') || '-';
    }
  });
  return `fire ${name} ${tokens.join(' ')}`;
}

/** A running emitter process; `await using` stops it. */
export class Emitter implements AsyncDisposable {
  private readonly replies: string[] = [];
  private waiting: ((line: string) => void) | undefined;
  private readonly lines: Interface;
  private readonly exited: Promise<void>;

  private constructor(private readonly child: ChildProcess, readonly pid: number) {
    this.lines = createInterface({ input: child.stdout! });
    this.lines.on('line', (line) => {
      const waiter = this.waiting;
      this.waiting = undefined;
      if (waiter) waiter(line);
      else this.replies.push(line);
    });
    this.exited = new Promise((resolve) => child.once('close', () => resolve()));
  }

  static async start(binary: string): Promise<Emitter> {
    const child = spawn(binary, [], { stdio: ['pipe', 'pipe', 'inherit'] });
    if (child.pid === undefined) throw new Error(`cannot start ${binary}`);
    guardProcess(child.pid);
    const emitter = new Emitter(child, child.pid);
    const ready = await emitter.command('ready');
    if (ready !== `ready ${child.pid}`) throw new Error(`emitter said '${ready}' instead of ready`);
    return emitter;
  }

  /** Sends one command, resolves with its one reply line; an `error …` reply rejects. */
  async command(line: string): Promise<string> {
    const reply = new Promise<string>((resolve, reject) => {
      const queued = this.replies.shift();
      if (queued !== undefined) return resolve(queued);
      this.waiting = resolve;
      this.exited.then(() => reject(new Error(`emitter ${this.pid} exited before replying to '${line.slice(0, 60)}'`)));
    });
    this.child.stdin!.write(`${line}\n`);
    const text = await reply;
    if (text.startsWith('error ')) throw new Error(`emitter: ${text} (command: ${line.slice(0, 80)})`);
    return text;
  }

  async semaphore(name: TracepointName): Promise<number> {
    const reply = await this.command(`sem ${name}`);
    return Number(reply.split(' ')[2]);
  }

  /** Fires one tracepoint; resolves with whether it fired (false: semaphore was 0). */
  async fire<N extends TracepointName>(name: N, args: TracepointArgsMap[N]): Promise<boolean> {
    return (await this.command(fireLine(name, args))).endsWith(' 1');
  }

  /** Fires `count` net:*_message probes, back to back or paced to `perSecond`; resolves with how many fired. */
  async burst(name: 'net:inbound_message' | 'net:outbound_message', count: number, payloadLength = 8, perSecond = 0): Promise<number> {
    return Number((await this.command(`burst ${name} ${count} ${payloadLength} ${perSecond}`)).split(' ')[2]);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.stdin!.end('quit\n');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
      await this.exited;
      clearTimeout(timer);
    }
    this.lines.close();
    releaseProcess(this.pid);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** PIDs of bpftrace processes that are children of this process (what a test must not leave behind). */
export function ourBpftracePids(): number[] {
  const ps = spawnSync('ps', ['-eo', 'pid=,ppid=,comm='], { encoding: 'utf8' });
  return ps.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter(([, ppid, comm]) => comm === 'bpftrace' && Number(ppid) === process.pid)
    .map(([pid]) => Number(pid));
}
