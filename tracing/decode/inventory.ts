/** `inv` / `getdata` / `notfound`: a CompactSize count of (type, hash) pairs. */
import { toRpcHashHex } from './hex.js';
import { PayloadReader, readUntilStop, type DecodeStop } from './reader.js';

/** Core's MAX_INV_SZ: a longer inventory is misbehaviour. */
export const MAX_INV_ENTRIES = 50_000;

const MSG_WITNESS_FLAG = 1 << 30;
const BASE_TYPE_NAMES = new Map<number, string>([
  [1, 'tx'],
  [2, 'block'],
  [3, 'merkleblock'],
  [4, 'cmpctblock'],
  [5, 'wtx'],
]);

export interface InventoryEntry {
  /** The raw 32-bit type, e.g. 0x40000002. */
  typeCode: number;
  /** As Core's CInv::GetMessageType names it: `tx`, `wtx`, `block`, `witness-block`, …, or `?0x…`. */
  typeName: string;
  /** Hash in RPC (display) byte order. */
  hash: string;
}

export interface InventoryPayload {
  type: 'inv' | 'getdata' | 'notfound';
  /** The count the message claims; `entries` may hold fewer when the payload was cut. */
  count?: number;
  entries: InventoryEntry[];
  stop?: DecodeStop;
}

export function inventoryTypeName(typeCode: number): string {
  const witness = (typeCode & MSG_WITNESS_FLAG) !== 0;
  const base = BASE_TYPE_NAMES.get((typeCode & ~MSG_WITNESS_FLAG) >>> 0);
  if (base === undefined) return `?0x${(typeCode >>> 0).toString(16).padStart(8, '0')}`;
  return witness ? `witness-${base}` : base;
}

export function decodeInventory(type: InventoryPayload['type'], reader: PayloadReader): InventoryPayload {
  return readUntilStop<InventoryPayload>({ type, entries: [] }, (p) => {
    const start = reader.position;
    const count = reader.compactSize('count');
    p.count = count;
    if (count > MAX_INV_ENTRIES) {
      reader.malformed('count', start, `${count} entries exceed Core's MAX_INV_SZ of ${MAX_INV_ENTRIES}`);
    }
    for (let i = 0; i < count; i++) {
      const typeCode = reader.u32le(`entry ${i} type`);
      const hash = toRpcHashHex(reader.take(`entry ${i} hash`, 32));
      p.entries.push({ typeCode, typeName: inventoryTypeName(typeCode), hash });
    }
  });
}
