/** The panel of decoded handshake payloads: what each node told the other about itself. */
import { decodePayload, type DecodedPayload } from '../decode/payload.js';
import { describeStop } from '../decode/summary.js';
import { formatBtcPerKvB } from '../decode/feefilter.js';
import { formatNonce } from '../decode/nonce.js';
import type { ServiceFlagName, ServiceFlags } from '../decode/services.js';
import type { FeeFilterPayload } from '../decode/feefilter.js';
import type { SendCmpctPayload } from '../decode/sendcmpct.js';
import type { VersionPayload } from '../decode/version.js';
import { escapeHtml } from './escape.js';
import type { NodeNamer } from './nodes.js';
import { connectionKey, type DiagramMessage } from './pairing.js';

const PANEL_TYPES = ['version', 'sendcmpct', 'feefilter'] as const;

const SERVICE_MEANING: Record<ServiceFlagName, string> = {
  NETWORK: 'serves the full block chain',
  BLOOM: 'accepts BIP 37 bloom filters',
  WITNESS: 'segwit: serves witness data (BIP 144)',
  COMPACT_FILTERS: 'serves BIP 157 compact block filters',
  NETWORK_LIMITED: 'serves at least the last 288 blocks (BIP 159)',
  P2P_V2: 'speaks the BIP 324 encrypted transport',
};

interface Card {
  from: number;
  to: number | null;
  connType: string;
  found: Map<string, DiagramMessage>;
}

/** One card per sender on each connection, holding its first version / sendcmpct / feefilter. */
export function renderHandshakePayloads(messages: readonly DiagramMessage[], name: NodeNamer): string {
  const cards = new Map<string, Card>();
  for (const message of messages) {
    const type = message.send.args.msg_type;
    if (!(PANEL_TYPES as readonly string[]).includes(type)) continue;
    const key = `${connectionKey(message.send)}|${message.from}`;
    const card = cards.get(key) ?? { from: message.from, to: message.to, connType: message.send.args.peer_conn_type, found: new Map() };
    if (!card.found.has(type)) card.found.set(type, message);
    cards.set(key, card);
  }
  if (cards.size === 0) return '<p class="muted">No version, sendcmpct or feefilter was sent in this trace.</p>';
  return `<div class="cards">${[...cards.values()].map((card) => renderCard(card, name)).join('')}</div>`;
}

function renderCard(card: Card, name: NodeNamer): string {
  const to = card.to === null ? 'a peer outside the harness' : name(card.to);
  const sections = PANEL_TYPES.map((type) => renderMessage(type, card.found.get(type))).join('');
  return `<article class="card"><h3>${escapeHtml(name(card.from))} <span class="arrow-glyph">→</span> ${escapeHtml(to)}</h3><p class="muted">sent on a connection ${escapeHtml(name(card.from))} sees as <code>${escapeHtml(card.connType)}</code></p>${sections}</article>`;
}

function renderMessage(type: (typeof PANEL_TYPES)[number], message: DiagramMessage | undefined): string {
  const heading = `<h4>${type}</h4>`;
  if (!message) return `${heading}<p class="muted">not sent</p>`;
  const { msg, msg_size } = message.send.args;
  if (msg === undefined || (msg === '' && msg_size > 0)) {
    return `${heading}<p class="muted">${msg_size} B; payload not captured (the debug.log tracer sees sizes only)</p>`;
  }
  let decoded: DecodedPayload | undefined;
  try {
    decoded = decodePayload(type, msg, msg_size);
  } catch (error) {
    return `${heading}<p class="warn">undecodable payload: ${escapeHtml((error as Error).message)}</p>`;
  }
  if (!decoded) return heading;
  const rows = rowsFor(decoded);
  const stop = decoded.stop ? `<p class="warn">${escapeHtml(describeStop(decoded.stop))} (${escapeHtml(decoded.stop.detail)})</p>` : '';
  return `${heading}<dl class="${type}">${rows.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${v}</dd>`).join('')}</dl>${stop}`;
}

/** [label, already-escaped HTML] */
function rowsFor(p: DecodedPayload): [string, string][] {
  const rows: [string, string | undefined][] = [];
  if (p.type === 'version') rows.push(...versionRows(p));
  if (p.type === 'sendcmpct') rows.push(...sendCmpctRows(p));
  if (p.type === 'feefilter') rows.push(...feeFilterRows(p));
  return rows.filter((row): row is [string, string] => row[1] !== undefined);
}

function versionRows(v: VersionPayload): [string, string | undefined][] {
  return [
    ['protocol version', v.protocolVersion === undefined ? undefined : `<b>${v.protocolVersion}</b>`],
    ['services', v.services && renderServices(v.services)],
    ['user agent', v.userAgent === undefined ? undefined : `<code class="user-agent">${escapeHtml(v.userAgent)}</code>`],
    ['start height', v.startHeight === undefined ? undefined : escapeHtml(v.startHeight)],
    [
      'relay',
      v.relay === undefined
        ? undefined
        : `${v.relay ? 'yes' : 'no'} <span class="muted">${v.relay ? '— announce transactions to me' : '— blocks only, no tx announcements'}${v.relayOmitted ? ' (byte omitted)' : ''}</span>`,
    ],
    ['timestamp', v.timestamp === undefined ? undefined : escapeHtml(formatTimestamp(v.timestamp))],
    ['nonce', v.nonce === undefined ? undefined : `<code>${formatNonce(v.nonce)}</code>`],
    ['addr_recv', v.addrRecv && `<code>${escapeHtml(v.addrRecv.address)}</code>`],
  ];
}

function sendCmpctRows(p: SendCmpctPayload): [string, string | undefined][] {
  return [
    [
      'mode',
      p.highBandwidth === undefined
        ? undefined
        : p.highBandwidth
          ? 'high-bandwidth <span class="muted">— push new blocks as cmpctblock right away</span>'
          : 'low-bandwidth <span class="muted">— announce first, send on request</span>',
    ],
    ['version', p.version === undefined ? undefined : `${p.version} <span class="muted">(${p.version === 2n ? 'wtxid short ids' : 'legacy'})</span>`],
  ];
}

function feeFilterRows(p: FeeFilterPayload): [string, string | undefined][] {
  return [['minimum fee', p.satPerKvB === undefined ? undefined : `<b>${p.satPerKvB}</b> sat/kvB <span class="muted">= ${formatBtcPerKvB(p.satPerKvB)}</span>`]];
}

function renderServices(flags: ServiceFlags): string {
  const chips = flags.names.map((n) => `<span class="chip" title="${escapeHtml(SERVICE_MEANING[n])}">${n}</span>`);
  chips.push(...flags.unknownBits.map((bit) => `<span class="chip unknown">UNKNOWN[2^${bit}]</span>`));
  return `<code>0x${flags.bits.toString(16)}</code> ${chips.join(' ')}`;
}

function formatTimestamp(unixSeconds: number): string {
  const date = new Date(unixSeconds * 1000);
  return Number.isNaN(date.getTime()) ? `${unixSeconds}` : `${date.toISOString().replace('.000Z', 'Z')} (${unixSeconds})`;
}
