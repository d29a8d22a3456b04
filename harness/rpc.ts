import { Agent, request } from 'node:http';
import { HarnessError } from './common/errors.js';
import { DEFAULT_TIMEOUTS } from './common/timing.js';
import type { RpcMethod, RpcParams, RpcResult } from './rpc-types.js';

export type { RpcMethod, RpcParams, RpcResult } from './rpc-types.js';
export type * from './rpc-types.js';

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
 * Our one typed door to a node's JSON-RPC: JSON-RPC 1.0 over node:http with keep-alive, wallet
 * calls routed to /wallet/<name>. Not the `bitcoin-core` client any more: loading it (it pulls in
 * `request`, lodash, psl) cost 0.5–1.3 s of CPU per CLI run here, more than the rest of a log
 * tracer's handshake run (bench/whole-process.ts); callers see the same Rpc and RpcError.
 */
export class Rpc {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 4 });
  private readonly authorization: string;
  private nextId = 0;

  constructor(
    private readonly endpoint: RpcEndpoint,
    /** Per call (DEFAULT_TIMEOUTS.rpcCall in harness/common/timing.ts, scaled by the node's timing). */
    private readonly timeoutMs: number = DEFAULT_TIMEOUTS.rpcCall,
  ) {
    this.authorization = `Basic ${Buffer.from(`${endpoint.username}:${endpoint.password}`).toString('base64')}`;
  }

  /** Call a node-level method. */
  call<M extends RpcMethod>(method: M, ...params: RpcParams<M>): Promise<RpcResult<M>> {
    return this.invoke(undefined, method, params);
  }

  /** Call a wallet method on the named wallet. */
  wallet<M extends RpcMethod>(wallet: string, method: M, ...params: RpcParams<M>): Promise<RpcResult<M>> {
    return this.invoke(wallet, method, params);
  }

  private invoke<M extends RpcMethod>(wallet: string | undefined, method: M, params: readonly unknown[]): Promise<RpcResult<M>> {
    const body = JSON.stringify({ jsonrpc: '1.0', id: ++this.nextId, method, params });
    const path = wallet === undefined ? '/' : `/wallet/${encodeURIComponent(wallet)}`;
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.endpoint.host,
          port: this.endpoint.port,
          path,
          method: 'POST',
          agent: this.agent,
          timeout: this.timeoutMs,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: this.authorization },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', (error) => reject(new RpcError(method, undefined, error.message)));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let reply: { result?: unknown; error?: { code?: unknown; message?: unknown } | null } | undefined;
            try {
              reply = JSON.parse(text) as typeof reply;
            } catch {
              // Core answers 401 (bad credentials) and some transport errors without a JSON body.
              reject(new RpcError(method, undefined, `HTTP ${res.statusCode ?? '?'}${text.trim() ? `: ${text.trim().slice(0, 200)}` : ''}`));
              return;
            }
            if (reply?.error) {
              const code = typeof reply.error.code === 'number' ? reply.error.code : undefined;
              reject(new RpcError(method, code, typeof reply.error.message === 'string' ? reply.error.message : JSON.stringify(reply.error)));
              return;
            }
            resolve(reply?.result as RpcResult<M>);
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms (ETIMEDOUT)`)));
      req.on('error', (error: NodeJS.ErrnoException) => reject(new RpcError(method, undefined, error.code && !error.message.includes(error.code) ? `${error.message} (${error.code})` : error.message)));
      req.end(body);
    });
  }

  /** Closes idle keep-alive connections (a stopped node's sockets are closed by the node). */
  close(): void {
    this.agent.destroy();
  }
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
