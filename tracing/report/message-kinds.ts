/** Groups message types by what they are for, so the diagram can colour them and a legend explain them. */

export type MessageKind = 'handshake' | 'keepalive' | 'sync' | 'data' | 'other';

export interface KindStyle {
  /** Arrow colour; also what the browser test looks for in the screenshot. */
  color: string;
  legend: string;
}

export const KIND_STYLES: Record<MessageKind, KindStyle> = {
  handshake: { color: '#2563eb', legend: 'handshake & feature negotiation' },
  keepalive: { color: '#9333ea', legend: 'ping / pong' },
  sync: { color: '#d97706', legend: 'headers, announcements, requests' },
  data: { color: '#059669', legend: 'blocks & transactions' },
  other: { color: '#db2777', legend: 'other' },
};

const KIND_OF = new Map<string, MessageKind>([
  ...['version', 'verack', 'wtxidrelay', 'sendaddrv2', 'sendtxrcncl', 'getaddr', 'sendcmpct', 'sendheaders', 'feefilter'].map(
    (t) => [t, 'handshake'] as const,
  ),
  ...['ping', 'pong'].map((t) => [t, 'keepalive'] as const),
  ...['getheaders', 'headers', 'inv', 'getdata', 'notfound', 'addr', 'addrv2', 'getblocks', 'mempool'].map(
    (t) => [t, 'sync'] as const,
  ),
  ...['block', 'cmpctblock', 'getblocktxn', 'blocktxn', 'tx', 'merkleblock'].map((t) => [t, 'data'] as const),
]);

export function messageKind(msgType: string): MessageKind {
  return KIND_OF.get(msgType) ?? 'other';
}

/** Messages that belong to setting a connection up (the first burst after connecting). */
const CONNECTION_SETUP_TYPES = new Set([
  'version',
  'verack',
  'wtxidrelay',
  'sendaddrv2',
  'sendtxrcncl',
  'getaddr',
  'sendcmpct',
  'sendheaders',
  'feefilter',
  'ping',
  'pong',
  'getheaders',
  'headers',
]);

export function isConnectionSetupType(msgType: string): boolean {
  return CONNECTION_SETUP_TYPES.has(msgType);
}
