/**
 * Block relay along a tree of nodes (default: a 3-node line), in the three ways Core relays a
 * block to a peer, one mined block each:
 *
 * 1. First block: no peer has asked for header announcements yet, so the block is announced with
 *    `inv`. The receiver asks for headers (`getheaders`), gets `headers`, tells the announcer to
 *    announce by headers from now on (`sendheaders`), and fetches the block with `getdata` → `block`.
 * 2. Second block: the announcer sends `headers` (the peer asked for it); the receiver, seeing a
 *    block that connects to its tip, asks for a compact block (`getdata` → `cmpctblock`) and,
 *    now that it is out of initial block download, picks the announcer as a high-bandwidth
 *    compact-block peer (`sendcmpct` with announce = 1).
 * 3. Third block: in high-bandwidth mode the announcer pushes `cmpctblock` straight away, with no
 *    announcement before it and nothing requested by the receiver.
 *
 * Every rule is about one connection, checked on each side's own order, on the slice of the trace
 * after that block was mined.
 */
import { HarnessError } from '../harness/common/errors.js';
import type { Edge } from '../harness/topology.js';
import { checkSendsFirst, checkSendsInOrder, checkSendsOnlyAfterReceived } from '../tracing/checks/sequence-checks.js';
import type { ConnectionView, Role } from '../tracing/connections.js';
import { direction } from '../tracing/events.js';
import { checkNeverSends, checkReceivesOneOf, roleOf } from './checks.js';
import { settleHandshake } from './handshake.js';
import { phase, traceNowUs } from './phase.js';
import { stateCheck, type CheckResult, type Scenario, type ScenarioContext } from './types.js';

/** Core's test constant: P2WSH of OP_TRUE, so blocks need no wallet (creating one costs ~0.3 s). */
export const ANYONE_CAN_SPEND_ADDRESS = 'bcrt1qft5p2uhsdcdc3l2ua4ap5qqfg4pjaqlp250x7us7a8qqhrxrxfsqseac85';

const BLOCK_PAYLOADS = ['block', 'cmpctblock'];
const ANNOUNCEMENTS = ['inv', 'headers', 'cmpctblock', 'block'];

/** One edge as the block crosses it: from the node nearer the miner to the one further away. */
interface Hop {
  edge: Edge;
  announcer: number;
  receiver: number;
}

type RoundKind = 'inv-announcement' | 'headers-announcement' | 'high-bandwidth';

interface Round {
  kind: RoundKind;
  /** Trace time when the block was mined: the round's slice starts here. */
  sinceUs: number;
  hash: string;
}

const ROUNDS: readonly RoundKind[] = ['inv-announcement', 'headers-announcement', 'high-bandwidth'];
const MINER = 0;

interface BlockRelayRun {
  hops: Hop[];
  rounds: Round[];
}

/**
 * The direction the block crosses each edge: away from the miner. Only a tree has one answer
 * (in a ring, a node hears of the block from two peers and fetches it from one), so other shapes are refused.
 */
function blockHops(nodes: number, edges: readonly Edge[]): Hop[] {
  const distance = new Map<number, number>([[MINER, 0]]);
  for (let frontier = [MINER]; frontier.length > 0; ) {
    const next: number[] = [];
    for (const node of frontier) {
      for (const e of edges) {
        const other = e.from === node ? e.to : e.to === node ? e.from : undefined;
        if (other === undefined || distance.has(other)) continue;
        distance.set(other, distance.get(node)! + 1);
        next.push(other);
      }
    }
    frontier = next;
  }
  if (edges.length !== nodes - 1 || distance.size !== nodes) {
    throw new HarnessError('BAD_TOPOLOGY', `block-relay needs a tree of connections reaching every node from node ${MINER} (a line or a star); got ${edges.length} edge(s) reaching ${distance.size} of ${nodes} nodes`, {
      fix: 'run block-relay with --topology line or star (or an edge list without cycles that connects every node)',
    });
  }
  return edges.map((edge) => {
    const fromIsNearer = distance.get(edge.from)! < distance.get(edge.to)!;
    return { edge, announcer: fromIsNearer ? edge.from : edge.to, receiver: fromIsNearer ? edge.to : edge.from };
  });
}

/** Resolves once both sides of the hop traced the block crossing it (tracers deliver each node's log separately). */
async function waitForCrossing(context: ScenarioContext, hop: Hop, sinceUs: number): Promise<void> {
  const crossing = (node: number, peer: number, dir: 'in' | 'out') =>
    context.trace.waitFor(
      (e) =>
        (e.tracepoint === 'net:inbound_message' || e.tracepoint === 'net:outbound_message') &&
        e.node === node &&
        e.peer_node === peer &&
        e.t >= sinceUs &&
        direction(e) === dir &&
        BLOCK_PAYLOADS.includes(e.args.msg_type),
      { description: `node${node} to ${dir === 'out' ? 'send' : 'receive'} the new block (block or cmpctblock) ${dir === 'out' ? 'to' : 'from'} node${peer}` },
    );
  await Promise.all([crossing(hop.announcer, hop.receiver, 'out'), crossing(hop.receiver, hop.announcer, 'in')]);
}

function roundChecks(kind: RoundKind, view: ConnectionView, announcer: Role, receiver: Role): CheckResult[] {
  const a = view.side(announcer).label;
  switch (kind) {
    case 'inv-announcement':
      return [
        checkSendsInOrder(view, announcer, ['inv', 'headers', 'block']),
        checkSendsOnlyAfterReceived(view, receiver, 'getheaders', 'inv'),
        checkSendsOnlyAfterReceived(view, receiver, 'getdata', 'headers'),
        checkSendsOnlyAfterReceived(view, announcer, 'block', 'getdata'),
        // From here on the receiver wants headers, not inv: what makes round 2 different.
        checkSendsOnlyAfterReceived(view, receiver, 'sendheaders', 'headers'),
      ];
    case 'headers-announcement':
      return [
        checkSendsInOrder(view, announcer, ['headers', 'cmpctblock']),
        checkNeverSends(view, announcer, 'inv', `${a} announces by 'headers', never 'inv' (the peer sent 'sendheaders')`),
        checkSendsOnlyAfterReceived(view, receiver, 'getdata', 'headers'),
        checkSendsOnlyAfterReceived(view, announcer, 'cmpctblock', 'getdata'),
        // BlockChecked → MaybeSetPeerAsAnnouncingHeaderAndIDs, once the chain is out of IBD (block 1 made the tip recent).
        checkSendsOnlyAfterReceived(view, receiver, 'sendcmpct', 'cmpctblock'),
      ];
    case 'high-bandwidth': {
      const pushedAt = view.side(receiver).receivedEvents().find((e) => e.args.msg_type === 'cmpctblock')?.t;
      return [
        checkSendsFirst(phase(view, { types: ANNOUNCEMENTS, what: '(block announcements only)' }), announcer, 'cmpctblock'),
        checkNeverSends(
          phase(view, { ...(pushedAt === undefined ? {} : { untilUs: pushedAt }), what: '(until the cmpctblock arrived)' }),
          receiver,
          'getdata',
          `${view.side(receiver).label} gets the cmpctblock unrequested (no 'getdata' before it)`,
        ),
      ];
    }
  }
}

export const blockRelay: Scenario<BlockRelayRun> = {
  name: 'block-relay',
  summary: 'a mined block crosses every edge: inv → getheaders → headers → getdata → block, then headers-first, then high-bandwidth cmpctblock',
  minNodes: 2,
  defaults: { nodes: 3, topology: 'line' },
  act: async (context) => {
    const { network } = context;
    const hops = blockHops(network.nodes.length, context.edges);
    // The handshake's own getheaders/headers must be over before the first block's slice starts.
    await Promise.all(context.edges.map((edge) => settleHandshake(context, edge)));
    const rounds: Round[] = [];
    for (const kind of ROUNDS) {
      const sinceUs = traceNowUs(network);
      const [hash] = await network.node(MINER).rpc.call('generatetoaddress', 1, ANYONE_CAN_SPEND_ADDRESS);
      await network.syncBlocks({ reference: MINER });
      await Promise.all(hops.map((hop) => waitForCrossing(context, hop, sinceUs)));
      context.log(`block ${rounds.length + 1} (${kind}) reached every node: ${hash}`);
      rounds.push({ kind, sinceUs, hash: hash! });
    }
    return { hops, rounds };
  },
  expectations: async (context, run) => {
    if (!run) return [];
    const checks: CheckResult[] = [];
    run.rounds.forEach((round, i) => {
      const untilUs = run.rounds[i + 1]?.sinceUs;
      for (const hop of run.hops) {
        const view = phase(context.trace.connection(hop.edge.from, hop.edge.to), {
          sinceUs: round.sinceUs,
          ...(untilUs === undefined ? {} : { untilUs }),
          what: `(block ${i + 1}: ${round.kind})`,
        });
        const announcer = roleOf(hop.edge, hop.announcer);
        const receiver = roleOf(hop.edge, hop.receiver);
        checks.push(checkReceivesOneOf(view, receiver, BLOCK_PAYLOADS), ...roundChecks(round.kind, view, announcer, receiver));
      }
    });
    const last = run.rounds.at(-1)?.hash;
    if (last !== undefined) {
      const tips = await Promise.all(context.network.nodes.map((node) => node.rpc.call('getbestblockhash')));
      const behind = tips.flatMap((tip, i) => (tip === last ? [] : [`node${i} at ${tip}`]));
      checks.push(stateCheck(behind.length === 0, `every node's tip is the last mined block ${last} (getbestblockhash)`, behind.length === 0 ? 'they all are' : behind.join(', ')));
    }
    return checks;
  },
};
