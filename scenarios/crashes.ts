import { budget, delay, makeTiming } from '../harness/common/timing.js';
import { describeExit, type ExitInfo } from '../harness/common/child-process/index.js';
import type { Network } from '../harness/network.js';
import type { BitcoinNode } from '../harness/node.js';
import { isConnectionRefused } from '../harness/rpc.js';
import type { CheckResult } from './types.js';

/**
 * Nodes that exited on their own during a scenario, recorded from each child's exit event
 * (Network.onUnexpectedExit). A failed action is then reported as the crash it was
 * (`node1 crashed (signal SIGKILL) during the scenario's actions`, with the log tail), not as the
 * `listwallets: connect ECONNREFUSED` the next RPC happened to get.
 */
export class CrashRecorder {
  private readonly crashes: { node: BitcoinNode; exit: ExitInfo }[] = [];
  private wake: (() => void) | undefined;

  /** Listen to the network's nodes from now on, and count a node that is already gone. */
  watch(network: Network): void {
    network.onUnexpectedExit((node, exit) => this.record(node, exit));
    for (const node of network.nodes) if (!node.running && node.lastExit) this.record(node, node.lastExit);
  }

  private record(node: BitcoinNode, exit: ExitInfo): void {
    this.crashes.push({ node, exit });
    this.wake?.();
  }

  get any(): boolean {
    return this.crashes.length > 0;
  }

  /**
   * An RPC refused because its node just died can be seen before the child's exit event; give
   * that event a short budget to arrive (it is already on its way: the kernel closed the socket
   * while the process exited).
   */
  async settle(actError: unknown, signal?: AbortSignal): Promise<void> {
    if (this.any || !isConnectionRefused(actError)) return;
    const timing = makeTiming({ signal });
    await Promise.race([new Promise<void>((resolve) => (this.wake = resolve)), delay(budget(timing, 'probeProcess'), signal).catch(() => undefined)]);
    this.wake = undefined;
  }

  /** One failed check per crashed node, in the order they went; `during` names the phase. */
  async checks(during: string, actError: unknown): Promise<CheckResult[]> {
    const then = actError === undefined ? '' : `; the actions then failed with: ${actError instanceof Error ? actError.message : String(actError)}`;
    return Promise.all(
      this.crashes.map(async ({ node, exit }, i) => {
        const tail = await node.logTail(30);
        const disk = /No space left on device|Disk space is (too )?low|Error: Disk/i.exec(tail);
        return {
          pass: false,
          claim: `every node stays up ${during}`,
          finding: `${node.name} crashed (${describeExit(exit)}) ${during}${disk ? ` — the disk is full (debug.log: "${disk[0]}")` : ''}${i === 0 ? then : ''}`,
          report: `── ${node.name} debug.log (last 30 lines) ──\n${tail}`,
        };
      }),
    );
  }
}
