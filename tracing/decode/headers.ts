/** `headers`: a CompactSize count of 80-byte block headers, each followed by a zero tx count. */
import { PayloadReader, readUntilStop, type DecodeStop } from './reader.js';

/** Core's MAX_HEADERS_RESULTS. */
export const MAX_HEADERS = 2000;

export interface HeadersPayload {
  type: 'headers';
  /** An empty `headers` (count 0) is Core's "I have nothing newer" reply to getheaders. */
  count?: number;
  stop?: DecodeStop;
}

export function decodeHeaders(reader: PayloadReader): HeadersPayload {
  return readUntilStop<HeadersPayload>({ type: 'headers' }, (p) => {
    const start = reader.position;
    p.count = reader.compactSize('count');
    if (p.count > MAX_HEADERS) {
      reader.malformed('count', start, `${p.count} headers exceed Core's MAX_HEADERS_RESULTS of ${MAX_HEADERS}`);
    }
  });
}
