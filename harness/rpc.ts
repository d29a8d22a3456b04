import { createRequire } from 'node:module';
import { HarnessError } from './common/errors.js';
import { DEFAULT_TIMEOUTS } from './common/timing.js';
import type { RpcMethod, RpcParams, RpcResult } from './rpc-types.js';

export type { RpcMethod, RpcParams, RpcResult } from './rpc-types.js';
export type * from './rpc-types.js';

// bitcoin-core 5 is CommonJS; load it through require so the ESM build needs no interop flags.
// Loaded at the first call, not at import: it pulls in `request` (0.5–1.3 s here), which commands
// without RPC (scenarios, probes, --help) must not pay, and a run pays it while its nodes start.
const require = createRequire(import.meta.url);
type BitcoinCoreClientType = new (options: Record<string, unknown>) => {
  command(method: string, ...params: unknown[]): Promise<unknown>;
};
let bitcoinCoreClient: BitcoinCoreClientType | undefined;
function BitcoinCoreClientClass(): BitcoinCoreClientType {
  return (bitcoinCoreClient ??= require('bitcoin-core') as BitcoinCoreClientType);
}

export interface RpcEndpoint {
  host: string;
  port: number;
  username: string;
  password: string;
}

/** Error codes Core returns that the harness reacts to. */
export const RPC_IN_WARMUP = -28;

export class RpcError extends Error {
  constructor(
    readonly method: string,
    readonly rpcCode: number | undefined,
    message: string,
  ) {
    super(`${method}: ${message}${rpcCode === undefined ? '' : ` (code ${rpcCode})`}`);
    this.name = 'RpcError';
  }
}

/**
 * Our one typed door to a node's JSON-RPC. The `bitcoin-core` client lives behind it so it can
 * be swapped without touching callers; wallet calls get their own client routed to /wallet/<name>.
 */
export class Rpc {
  private readonly clients = new Map<string, InstanceType<BitcoinCoreClientType>>();

  constructor(
    private readonly endpoint: RpcEndpoint,
    /** Per call (DEFAULT_TIMEOUTS.rpcCall in harness/common/timing.ts, scaled by the node's timing). */
    private readonly timeoutMs: number = DEFAULT_TIMEOUTS.rpcCall,
  ) {}

  private client(wallet: string | undefined): InstanceType<BitcoinCoreClientType> {
    const key = wallet ?? '';
    let client = this.clients.get(key);
    if (!client) {
      const BitcoinCoreClient = BitcoinCoreClientClass();
      client = new BitcoinCoreClient({
        host: `http://${this.endpoint.host}:${this.endpoint.port}`,
        username: this.endpoint.username,
        password: this.endpoint.password,
        timeout: this.timeoutMs,
        ...(wallet === undefined ? {} : { wallet }),
        logger: silentLogger,
      });
      this.clients.set(key, client);
    }
    return client;
  }

  /** Call a node-level method. */
  call<M extends RpcMethod>(method: M, ...params: RpcParams<M>): Promise<RpcResult<M>> {
    return this.invoke(undefined, method, params);
  }

  /** Call a wallet method on the named wallet. */
  wallet<M extends RpcMethod>(wallet: string, method: M, ...params: RpcParams<M>): Promise<RpcResult<M>> {
    return this.invoke(wallet, method, params);
  }

  private async invoke<M extends RpcMethod>(wallet: string | undefined, method: M, params: readonly unknown[]): Promise<RpcResult<M>> {
    try {
      return (await this.client(wallet).command(method, ...params)) as RpcResult<M>;
    } catch (error) {
      throw toRpcError(method, error);
    }
  }
}

function toRpcError(method: string, error: unknown): RpcError {
  const e = error as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'number' ? e.code : undefined;
  const message = typeof e.message === 'string' ? e.message : String(error);
  return new RpcError(method, code, message);
}

export function isConnectionRefused(error: unknown): boolean {
  return error instanceof RpcError && /ECONNREFUSED|ECONNRESET|socket hang up/.test(error.message);
}

/** A wrapped RpcError as a harness error, naming the node. */
export function rpcFailure(node: string, error: unknown): HarnessError {
  return new HarnessError('RPC_FAILED', `${node}: RPC ${error instanceof Error ? error.message : String(error)}`, {
    fix: "check the node's debug.log (see the evidence) for why it refused the call",
    cause: error,
  });
}

// bitcoin-core logs every request through debugnyan; the harness keeps its own logs.
const noop = (): void => undefined;
const silentLogger = { debug: noop, info: noop, warn: noop, error: noop, trace: noop, fatal: noop, child: () => silentLogger };
