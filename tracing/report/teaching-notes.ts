/**
 * Short notes on why the handshake looks the way it does, each with its source, and each
 * checked against this very trace so a learner sees the rule hold (or not) in real data.
 */
import { escapeHtml } from './escape.js';
import type { NodeNamer } from './nodes.js';
import { connectionKey, type DiagramMessage } from './pairing.js';
import { formatRelativeMs } from './time.js';

export interface Source {
  label: string;
  url: string;
}

export type Verdict = { status: 'holds' | 'violated' | 'not-in-trace'; evidence: string };

export interface TeachingNote {
  id: string;
  title: string;
  body: string;
  sources: Source[];
  check?: (trace: TraceView) => Verdict;
}

/** What a check may look at: the sends in order and the names to print. */
export interface TraceView {
  messages: readonly DiagramMessage[];
  name: NodeNamer;
  originUs: number;
}

const NET_PROCESSING: Source = {
  label: 'Bitcoin Core src/net_processing.cpp',
  url: 'https://github.com/bitcoin/bitcoin/blob/master/src/net_processing.cpp',
};
const bip = (n: number): Source => ({
  label: `BIP ${n}`,
  url: `https://github.com/bitcoin/bips/blob/master/bip-${String(n).padStart(4, '0')}.mediawiki`,
});

export const TEACHING_NOTES: readonly TeachingNote[] = [
  {
    id: 'version-first',
    title: 'The dialler speaks first',
    body: 'The node that opened the connection sends version before anything else; the accepting node answers with its own version only once it has read that one. Neither side processes other messages from a peer before its version.',
    sources: [NET_PROCESSING],
    check: (view) => perSender(view, (sends, sender, inbound) => {
      const first = sends[0];
      if (!first) return undefined;
      if (first.send.args.msg_type !== 'version') return { ok: false, text: `${sender} sent ${first.send.args.msg_type} first` };
      return { ok: true, text: `${sender} (${inbound ? 'accepting' : 'dialling'}) opened with version at ${time(view, first)}` };
    }),
  },
  {
    id: 'wtxidrelay',
    title: 'wtxidrelay goes between version and verack',
    body: 'BIP 339 lets peers announce transactions by wtxid (the hash including witness data). A node must send wtxidrelay after its version and before its verack; current Core disconnects a peer that sends it after verack.',
    sources: [bip(339), NET_PROCESSING],
    check: (view) => betweenVersionAndVerack(view, 'wtxidrelay'),
  },
  {
    id: 'sendaddrv2',
    title: 'sendaddrv2 likewise',
    body: 'BIP 155 addrv2 carries Tor v3, I2P and CJDNS addresses that do not fit the old 16-byte field. Support is signalled with sendaddrv2, also between version and verack; Core drops the connection on a late one.',
    sources: [bip(155), NET_PROCESSING],
    check: (view) => betweenVersionAndVerack(view, 'sendaddrv2'),
  },
  {
    id: 'getaddr-outbound',
    title: 'getaddr goes only to outbound peers',
    body: 'Right after the handshake Core asks peers it chose (outbound, not block-relay-only) for addresses. It never asks inbound peers, who could be an attacker feeding it addresses, and it answers getaddr only from inbound peers, once per connection: otherwise an attacker could plant fake addresses and read them back to fingerprint a node.',
    sources: [NET_PROCESSING],
    check: (view) => {
      const getaddrs = view.messages.filter((m) => m.send.args.msg_type === 'getaddr');
      if (getaddrs.length === 0) return { status: 'not-in-trace', evidence: 'no getaddr in this trace' };
      const toInbound = getaddrs.filter((m) => m.send.args.peer_conn_type === 'inbound');
      const describe = (m: DiagramMessage) =>
        `${view.name(m.from)} → ${m.to === null ? 'outside peer' : view.name(m.to)} on its ${m.send.args.peer_conn_type} connection at ${time(view, m)}`;
      if (toInbound.length > 0) return { status: 'violated', evidence: toInbound.map(describe).join('; ') };
      return { status: 'holds', evidence: getaddrs.map(describe).join('; ') };
    },
  },
  {
    id: 'sendcmpct-after-verack',
    title: 'sendcmpct comes after verack',
    body: 'BIP 152 compact blocks are negotiated once the handshake is done: Core sends sendcmpct (low-bandwidth, version 2) when it receives the peer’s verack, and later switches up to three peers to high-bandwidth mode.',
    sources: [bip(152), NET_PROCESSING],
    check: (view) => perSender(view, (sends, sender, _inbound, peerVerackAt) => {
      const cmpct = sends.find((m) => m.send.args.msg_type === 'sendcmpct');
      if (!cmpct || peerVerackAt === undefined) return undefined;
      const ok = cmpct.send.t >= peerVerackAt;
      return { ok, text: `${sender} got verack at ${formatRelativeMs(peerVerackAt, view.originUs)}, sent sendcmpct at ${time(view, cmpct)}` };
    }),
  },
  {
    id: 'v2-transport',
    title: 'BIP 324 v2 transport is invisible here',
    body: 'With v2 transport the connection starts with an encrypted key exchange (ElligatorSwift keys, garbage, a version packet) before any message. The tracepoints fire on decrypted messages, so a v2 connection shows exactly the same sequence as v1; only the P2P_V2 service bit in version tells you a node offers it. Use getpeerinfo’s transport_protocol_type to see what was negotiated.',
    sources: [bip(324)],
  },
];

type SenderFinding = { ok: boolean; text: string } | undefined;

/** Runs `judge` for every (connection, sender) and folds the findings into one verdict. */
function perSender(
  view: TraceView,
  judge: (sends: DiagramMessage[], sender: string, inbound: boolean, peerVerackAt: number | undefined) => SenderFinding,
): Verdict {
  const groups = new Map<string, DiagramMessage[]>();
  for (const m of view.messages) {
    const key = `${connectionKey(m.send)}|${m.from}`;
    groups.set(key, [...(groups.get(key) ?? []), m]);
  }
  const findings: { ok: boolean; text: string }[] = [];
  for (const [key, sends] of groups) {
    const first = sends[0]!;
    const connection = key.slice(0, key.lastIndexOf('|'));
    const peerVerack = view.messages.find(
      (m) => m.from !== first.from && m.send.args.msg_type === 'verack' && connectionKey(m.send) === connection,
    );
    const finding = judge(sends, view.name(first.from), first.send.args.peer_conn_type === 'inbound', peerVerack?.receive?.t);
    if (finding) findings.push(finding);
  }
  if (findings.length === 0) return { status: 'not-in-trace', evidence: 'nothing in this trace to check it against' };
  const broken = findings.filter((f) => !f.ok);
  return broken.length > 0
    ? { status: 'violated', evidence: broken.map((f) => f.text).join('; ') }
    : { status: 'holds', evidence: findings.map((f) => f.text).join('; ') };
}

function betweenVersionAndVerack(view: TraceView, type: string): Verdict {
  return perSender(view, (sends, sender) => {
    const at = (t: string) => sends.find((m) => m.send.args.msg_type === t);
    const version = at('version');
    const middle = at(type);
    const verack = at('verack');
    if (!version || !verack) return undefined;
    if (!middle) return { ok: false, text: `${sender} sent no ${type} before verack` };
    const ok = version.send.t <= middle.send.t && middle.send.t <= verack.send.t;
    return { ok, text: `${sender}: version ${time(view, version)} → ${type} ${time(view, middle)} → verack ${time(view, verack)}` };
  });
}

function time(view: TraceView, m: DiagramMessage): string {
  return formatRelativeMs(m.send.t, view.originUs);
}

const STATUS_TEXT: Record<Verdict['status'], string> = {
  holds: 'seen in this trace',
  violated: 'NOT what this trace shows',
  'not-in-trace': 'not visible in this trace',
};

export function renderTeachingNotes(view: TraceView): string {
  const items = TEACHING_NOTES.map((note) => {
    const verdict = note.check?.(view);
    const verdictHtml = verdict
      ? `<p class="verdict ${verdict.status}"><span class="badge">${STATUS_TEXT[verdict.status]}</span> ${escapeHtml(verdict.evidence)}</p>`
      : '';
    const sources = note.sources.map((s) => `<a href="${escapeHtml(s.url)}" rel="noreferrer">${escapeHtml(s.label)}</a>`).join(' · ');
    return `<li class="note" id="note-${note.id}"><h3>${escapeHtml(note.title)}</h3><p>${escapeHtml(note.body)}</p>${verdictHtml}<p class="sources">Source: ${sources}</p></li>`;
  });
  return `<ol class="notes">${items.join('')}</ol>`;
}
