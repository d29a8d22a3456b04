import { HarnessError } from './common/errors.js';
import { abortable, budget, scaled, type Timing } from './common/timing.js';
import { waitUntil } from './common/wait.js';
import type { BitcoinNode } from './node.js';

/** The wallet every harness node uses (created or loaded on first use). */
export const WALLET = 'harness';

/** What chain and wallet actions need of a network. */
export interface ChainScope {
  node(index: number): BitcoinNode;
  runningNodes(): BitcoinNode[];
  readonly timing: Timing;
}

/**
 * Chain, wallet and mempool actions on a network's nodes: mine, fund, send, and the waits that
 * follow them (every running node at a tip, a transaction in mempools). Waits on blocks block in
 * `waitforblock`; mempool contents have no event, so those are the only checks that repeat.
 */
export class ChainActions {
  constructor(private readonly scope: ChainScope) {}

  /** Load or create the harness wallet on a node (wallets are not auto-loaded after a restart). */
  async ensureWallet(index: number): Promise<void> {
    const node = this.scope.node(index);
    const loaded = await node.rpc.call('listwallets');
    if (loaded.includes(WALLET)) return;
    try {
      await node.rpc.call('loadwallet', WALLET);
    } catch {
      await node.rpc.call('createwallet', WALLET);
    }
  }

  /** A fresh address of the node's wallet. */
  async newAddress(index: number): Promise<string> {
    await this.ensureWallet(index);
    return this.scope.node(index).rpc.wallet(WALLET, 'getnewaddress');
  }

  /** Mine `blocks` on one node to its wallet; by default wait until every running node has the new tip. */
  async mine(index: number, blocks = 1, options: { sync?: boolean } = {}): Promise<string[]> {
    const address = await this.newAddress(index);
    const hashes = await this.scope.node(index).rpc.call('generatetoaddress', blocks, address);
    if (options.sync ?? true) await this.syncBlocks({ reference: index });
    return hashes;
  }

  /** Wait until every running node has the same tip as `reference` (default node 0); blocks on `waitforblock`, no polling. */
  async syncBlocks(options: { reference?: number } = {}): Promise<void> {
    const timeoutMs = budget(this.scope.timing, 'blockSync');
    const tip = await this.scope.node(options.reference ?? 0).rpc.call('getbestblockhash');
    await Promise.all(
      this.scope.runningNodes().map(async (node) => {
        const reached = await node.rpc.call('waitforblock', tip, timeoutMs);
        if (reached.hash !== tip) {
          throw new HarnessError('TIMEOUT', `${node.name} did not reach block ${tip} within ${timeoutMs} ms (at ${reached.hash}, height ${reached.height})`, {
            fix: 'check that the node is connected (topology) and read its debug.log tail',
          });
        }
      }),
    );
  }

  /** Send `amountBtc` from one node's wallet to a fresh address of another's; funds the sender first if needed. Returns the txid. */
  async sendTransaction(from: number, to: number, amountBtc = 1): Promise<string> {
    await this.fund(from, amountBtc + 0.01);
    const address = await this.newAddress(to);
    return this.scope.node(from).rpc.wallet(WALLET, 'sendtoaddress', address, amountBtc);
  }

  /** Make sure a node's wallet can spend `btc`: mine to it and mature the coinbase (101 blocks) if not. */
  async fund(index: number, btc: number): Promise<void> {
    await this.ensureWallet(index);
    if ((await this.scope.node(index).rpc.wallet(WALLET, 'getbalance')) >= btc) return;
    await this.mine(index, 101);
  }

  /** Wait until `txid` is in the mempool of the given nodes (default: all running); `timeoutMs` is scaled by the timeout factor. */
  async waitForMempool(txid: string, nodes: readonly number[] = this.scope.runningNodes().map((n) => n.index), timeoutMs?: number): Promise<void> {
    await Promise.all(
      nodes.map((index) =>
        waitUntil(async () => (await this.scope.node(index).rpc.call('getrawmempool')).includes(txid), {
          timeoutMs: timeoutMs === undefined ? budget(this.scope.timing, 'event') : scaled(this.scope.timing, timeoutMs),
          description: `tx ${txid} in node${index}'s mempool`,
          ...abortable(this.scope.timing),
        }),
      ),
    );
  }

  /** Wait until every running node's mempool holds the same transactions. */
  async syncMempools(): Promise<void> {
    await waitUntil(
      async () => {
        const pools = await Promise.all(this.scope.runningNodes().map(async (n) => (await n.rpc.call('getrawmempool')).sort().join(',')));
        return pools.every((pool) => pool === pools[0]);
      },
      { timeoutMs: budget(this.scope.timing, 'event'), description: 'all mempools to match', ...abortable(this.scope.timing) },
    );
  }
}
