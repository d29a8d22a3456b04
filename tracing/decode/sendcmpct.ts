/** `sendcmpct` (BIP 152): how the sender wants new blocks announced to it. */
import { PayloadReader, readUntilStop, type DecodeStop } from './reader.js';

export interface SendCmpctPayload {
  type: 'sendcmpct';
  /** true = high-bandwidth mode: push cmpctblock before validating; false = announce by inv/headers. */
  highBandwidth?: boolean;
  /** Compact-block version: 2 means witness (wtxid-based) short ids, the only one Core still speaks. */
  version?: bigint;
  stop?: DecodeStop;
}

export function decodeSendCmpct(reader: PayloadReader): SendCmpctPayload {
  return readUntilStop<SendCmpctPayload>({ type: 'sendcmpct' }, (p) => {
    p.highBandwidth = reader.bool('announce');
    p.version = reader.u64le('version');
  });
}
