/**
 * Sequential reader over a (possibly cut) P2P payload. Every read names the field it is
 * for, so when bytes run out the decoder can say exactly which field it could not decode.
 */

/** Core's MAX_SIZE (serialize.h): ReadCompactSize rejects larger sizes. */
export const MAX_COMPACT_SIZE = 0x02000000;

/** Why decoding stopped before the end of a message. */
export interface DecodeStop {
  /** The field that could not be decoded. */
  field: string;
  /**
   * `cut`: the tracer captured fewer bytes than the message had (msg_captured < msg_size, or size unknown);
   * `malformed`: the bytes are all there but do not form a valid message.
   */
  reason: 'cut' | 'malformed';
  /** Byte offset of the field. */
  offset: number;
  detail: string;
}

export class DecodeStopError extends Error {
  constructor(readonly stop: DecodeStop) {
    super(`${stop.field}: ${stop.detail}`);
    this.name = 'DecodeStopError';
  }
}

export class PayloadReader {
  private offset = 0;

  /**
   * @param declaredSize the message's real size (msg_size); when larger than `bytes`, running
   *   out of bytes means the capture was cut rather than the message being short.
   */
  constructor(
    private readonly bytes: Uint8Array,
    private readonly declaredSize?: number,
  ) {}

  get position(): number {
    return this.offset;
  }

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  /** True when the capture holds fewer bytes than the message had (or we cannot tell). */
  get captureIsCut(): boolean {
    return this.declaredSize === undefined || this.declaredSize > this.bytes.length;
  }

  take(field: string, length: number): Uint8Array {
    if (this.remaining < length) {
      const reason = this.captureIsCut ? 'cut' : 'malformed';
      const had = this.declaredSize === undefined ? '' : ` of ${this.declaredSize}`;
      const detail =
        reason === 'cut'
          ? `needs ${length} bytes at offset ${this.offset}, only ${this.bytes.length}${had} bytes were captured`
          : `needs ${length} bytes at offset ${this.offset}, but the message ends after ${this.bytes.length} bytes`;
      throw new DecodeStopError({ field, reason, offset: this.offset, detail });
    }
    const slice = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return slice;
  }

  malformed(field: string, offset: number, detail: string): never {
    throw new DecodeStopError({ field, reason: 'malformed', offset, detail });
  }

  u8(field: string): number {
    return this.view(field, 1).getUint8(0);
  }

  bool(field: string): boolean {
    return this.u8(field) !== 0;
  }

  u16le(field: string): number {
    return this.view(field, 2).getUint16(0, true);
  }

  /** Ports in addresses are the one big-endian field in the P2P protocol. */
  u16be(field: string): number {
    return this.view(field, 2).getUint16(0, false);
  }

  u32le(field: string): number {
    return this.view(field, 4).getUint32(0, true);
  }

  i32le(field: string): number {
    return this.view(field, 4).getInt32(0, true);
  }

  u64le(field: string): bigint {
    return this.view(field, 8).getBigUint64(0, true);
  }

  i64le(field: string): bigint {
    return this.view(field, 8).getBigInt64(0, true);
  }

  /** Bitcoin's CompactSize, with Core's checks: canonical encoding and at most MAX_SIZE. */
  compactSize(field: string): number {
    const start = this.offset;
    const first = this.u8(field);
    let value: bigint;
    let minimum: bigint;
    if (first < 0xfd) return first;
    if (first === 0xfd) {
      value = BigInt(this.u16le(field));
      minimum = 0xfdn;
    } else if (first === 0xfe) {
      value = BigInt(this.u32le(field));
      minimum = 0x10000n;
    } else {
      value = this.u64le(field);
      minimum = 0x100000000n;
    }
    if (value < minimum) {
      this.malformed(field, start, `non-canonical CompactSize 0x${first.toString(16)} for ${value}`);
    }
    if (value > BigInt(MAX_COMPACT_SIZE)) {
      this.malformed(field, start, `CompactSize ${value} is larger than Core's MAX_SIZE (${MAX_COMPACT_SIZE})`);
    }
    return Number(value);
  }

  private view(field: string, length: number): DataView {
    const slice = this.take(field, length);
    return new DataView(slice.buffer, slice.byteOffset, slice.byteLength);
  }
}

/**
 * Runs `read`, which fills `into` field by field; when it stops early, records why.
 * Fields read before the stop stay decoded: a cut version still tells its protocol version.
 */
export function readUntilStop<T extends { stop?: DecodeStop }>(into: T, read: (target: T) => void): T {
  try {
    read(into);
  } catch (error) {
    if (!(error instanceof DecodeStopError)) throw error;
    into.stop = error.stop;
  }
  return into;
}
