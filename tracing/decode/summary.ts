/** One human line per decoded payload, for timelines and report tooltips. */
import type { MessageArgs } from '../events.js';
import { formatBtcPerKvB } from './feefilter.js';
import { formatNonce } from './nonce.js';
import { decodePayload, type DecodedPayload } from './payload.js';
import type { DecodeStop } from './reader.js';
import { formatServiceFlags } from './services.js';

export function summarize(payload: DecodedPayload): string {
  const parts = describeFields(payload);
  if (payload.stop) parts.push(describeStop(payload.stop));
  return parts.join(' · ');
}

/** Decodes and summarizes a traced message; undefined when there is no payload or no decoder. */
export function summarizeMessage(args: Pick<MessageArgs, 'msg_type' | 'msg' | 'msg_size'>): string | undefined {
  if (args.msg === undefined || (args.msg === '' && args.msg_size > 0)) return undefined;
  const decoded = decodePayload(args.msg_type, args.msg, args.msg_size);
  return decoded && summarize(decoded);
}

export function describeStop(stop: DecodeStop): string {
  return stop.reason === 'cut' ? `cut before ${stop.field}` : `malformed ${stop.field}: ${stop.detail}`;
}

function describeFields(p: DecodedPayload): string[] {
  const parts: string[] = [];
  switch (p.type) {
    case 'version':
      if (p.protocolVersion !== undefined) parts.push(`protocol ${p.protocolVersion}`);
      if (p.services) parts.push(`services ${formatServiceFlags(p.services)}`);
      if (p.userAgent !== undefined) parts.push(JSON.stringify(p.userAgent));
      if (p.startHeight !== undefined) parts.push(`height ${p.startHeight}`);
      if (p.relay !== undefined) parts.push(`relay ${p.relay ? 'yes' : 'no'}${p.relayOmitted ? ' (omitted)' : ''}`);
      break;
    case 'sendcmpct':
      if (p.highBandwidth !== undefined) parts.push(p.highBandwidth ? 'high-bandwidth' : 'low-bandwidth');
      if (p.version !== undefined) parts.push(`compact blocks v${p.version}`);
      break;
    case 'feefilter':
      if (p.satPerKvB !== undefined) parts.push(`${p.satPerKvB} sat/kvB (${formatBtcPerKvB(p.satPerKvB)})`);
      break;
    case 'ping':
    case 'pong':
      if (p.nonce !== undefined) parts.push(`nonce ${formatNonce(p.nonce)}`);
      break;
    case 'inv':
    case 'getdata':
    case 'notfound': {
      if (p.count === undefined) break;
      const counts = new Map<string, number>();
      for (const entry of p.entries) counts.set(entry.typeName, (counts.get(entry.typeName) ?? 0) + 1);
      const types = [...counts].map(([name, n]) => (n === 1 ? name : `${name}×${n}`)).join(', ');
      const first = p.entries[0];
      parts.push(`${p.count} ${p.count === 1 ? 'entry' : 'entries'}${types ? `: ${types}` : ''}`);
      if (first) parts.push(`${first.hash.slice(0, 16)}…${p.entries.length > 1 ? ' …' : ''}`);
      break;
    }
    case 'headers':
      if (p.count !== undefined) parts.push(p.count === 0 ? '0 headers (nothing newer)' : `${p.count} headers`);
      break;
  }
  return parts;
}
