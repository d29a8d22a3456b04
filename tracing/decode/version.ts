/** `version`: the first message on every connection; the peer's identity card. */
import { readVersionAddress, type VersionAddress } from './netaddr.js';
import { PayloadReader, readUntilStop, type DecodeStop } from './reader.js';
import { decodeServiceFlags, type ServiceFlags } from './services.js';

/** Core's MAX_SUBVERSION_LENGTH: a longer user agent gets the peer disconnected. */
export const MAX_USER_AGENT_LENGTH = 256;

/** Fields are absent when the payload stopped before them; `stop` says where and why. */
export interface VersionPayload {
  type: 'version';
  protocolVersion?: number;
  services?: ServiceFlags;
  /** The sender's clock, UNIX seconds. */
  timestamp?: number;
  addrRecv?: VersionAddress;
  addrFrom?: VersionAddress;
  /** Random per connection; Core uses it to detect connecting to itself. */
  nonce?: bigint;
  userAgent?: string;
  startHeight?: number;
  /** Whether the sender wants unsolicited tx announcements (false for block-relay-only / -blocksonly). */
  relay?: boolean;
  /** The complete message had no relay byte; per BIP 37 the peer then counts as relaying. */
  relayOmitted?: boolean;
  stop?: DecodeStop;
}

export function decodeVersion(reader: PayloadReader): VersionPayload {
  return readUntilStop<VersionPayload>({ type: 'version' }, (v) => {
    v.protocolVersion = reader.i32le('protocol version');
    v.services = decodeServiceFlags(reader.u64le('services'));
    v.timestamp = Number(reader.i64le('timestamp'));
    v.addrRecv = readVersionAddress(reader, 'addr_recv');
    v.addrFrom = readVersionAddress(reader, 'addr_from');
    v.nonce = reader.u64le('nonce');
    v.userAgent = readUserAgent(reader);
    v.startHeight = reader.i32le('start height');
    if (reader.remaining === 0 && !reader.captureIsCut) {
      v.relay = true;
      v.relayOmitted = true;
      return;
    }
    v.relay = reader.bool('relay');
  });
}

function readUserAgent(reader: PayloadReader): string {
  const start = reader.position;
  const length = reader.compactSize('user agent length');
  if (length > MAX_USER_AGENT_LENGTH) {
    reader.malformed('user agent', start, `length ${length} exceeds Core's limit of ${MAX_USER_AGENT_LENGTH}`);
  }
  return new TextDecoder('utf-8').decode(reader.take('user agent', length));
}
