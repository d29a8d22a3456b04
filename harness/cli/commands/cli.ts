import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HarnessError, usageError } from '../../common/errors.js';
import { isConnectionRefused, Rpc, RpcError, type RpcMethod } from '../../rpc.js';
import { EXIT_EXPECTATION_FAILED, EXIT_OK, writeLine, type Command, type CommandIO } from '../command.js';
import { findUpState, upStateDir, type UpStateNode } from '../up-state.js';

const help = `Usage: regtest-harness cli [--up PID] <node> <method> [params…]

Call one RPC method on a node of the network a running 'regtest-harness up' started, like
bitcoin-cli (for those who have none). <node> is the index up printed (1 or node1). Each param
is JSON when it parses as JSON (0, true, ["a"], {"k":1}), else a string.

The network is found through a small state file that up keeps in ${upStateDir()}
(per user, 0700); authentication uses the cookie bitcoind writes into the node's 0700 datadir.

Options:
  --up PID                  the up to talk to, when several are running
  -h, --help                show this help

Exit codes: 0 the call succeeded (the result is printed, strings raw, the rest as JSON),
1 the node answered with an RPC error (printed), 2 usage or environment error (no up running,
no such node, the node is down).`;

async function run(argv: string[], io: CommandIO): Promise<number> {
  const args = [...argv];
  let pid: number | undefined;
  const upFlag = args[0]?.startsWith('--up') ? args.shift()! : undefined;
  if (upFlag !== undefined) {
    const value = upFlag.startsWith('--up=') ? upFlag.slice('--up='.length) : args.shift();
    if (value === undefined || !/^[0-9]+$/.test(value)) throw usageError(`--up must be a pid, got '${value ?? ''}'`, 'pass --up with the pid that up printed');
    pid = Number(value);
  }
  const [nodeArg, method, ...rawParams] = args;
  if (nodeArg === undefined || method === undefined) throw usageError('which node and method? e.g. regtest-harness cli 1 getpeerinfo', "run 'regtest-harness cli --help'");
  const match = /^(?:node)?([0-9]+)$/.exec(nodeArg);
  if (!match) throw usageError(`<node> must be a node index such as 1 or node1, got '${nodeArg}'`, 'pass the index up printed');
  const state = findUpState(pid);
  const node = state.nodes.find((n) => n.index === Number(match[1]));
  if (!node) throw usageError(`the network of up (pid ${state.pid}) has no node ${match[1]} (nodes 0..${state.nodes.length - 1})`, 'pass a node index that up printed');

  const rpc = new Rpc({ host: '127.0.0.1', port: node.rpcPort, ...(await cookieCredentials(node)) });
  try {
    // Any method the node knows, not only the typed ones: the node checks the params.
    const call = rpc.call.bind(rpc) as (method: RpcMethod, ...params: unknown[]) => Promise<unknown>;
    const result = await call(method as RpcMethod, ...rawParams.map(parseParam));
    if (result !== null && result !== undefined) writeLine(io.stdout, typeof result === 'string' ? result : JSON.stringify(result, null, 2));
    return EXIT_OK;
  } catch (error) {
    if (isConnectionRefused(error)) {
      throw new HarnessError('RPC_FAILED', `node${node.index} does not answer RPC on 127.0.0.1:${node.rpcPort}: ${(error as Error).message}`, { fix: 'check the terminal running up: the node may have stopped' });
    }
    if (error instanceof RpcError) {
      writeLine(io.stderr, `regtest-harness cli: node${node.index} ${error.message}`);
      return EXIT_EXPECTATION_FAILED;
    }
    throw error;
  }
}

/** Like bitcoin-cli: JSON where it parses (numbers, booleans, arrays, objects), else the string itself. */
function parseParam(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** bitcoind's RPC cookie (`__cookie__:<hex>`), in `<datadir>/regtest/.cookie`, readable only by the user running up. */
async function cookieCredentials(node: UpStateNode): Promise<{ username: string; password: string }> {
  const file = join(node.datadir, 'regtest', '.cookie');
  let text: string;
  try {
    text = (await readFile(file, 'utf8')).trim();
  } catch (error) {
    throw new HarnessError('RPC_FAILED', `cannot read node${node.index}'s RPC cookie ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, {
      fix: 'run cli as the same user as up (the datadir is private to that user)',
      cause: error,
    });
  }
  const colon = text.indexOf(':');
  if (colon < 1) throw new HarnessError('RPC_FAILED', `node${node.index}'s RPC cookie ${file} is not user:password`, { fix: 'restart up' });
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

export const cliCommand: Command = { name: 'cli', summary: "call an RPC on a node of the running 'up' network (bitcoin-cli for those without it)", help, run };
