/** Sequential writer for P2P payloads: the inverse of tracing/decode/reader.ts. */
export class PayloadWriter {
  private readonly chunks: Buffer[] = [];

  bytes(value: Uint8Array): this {
    this.chunks.push(Buffer.from(value));
    return this;
  }

  u8(value: number): this {
    return this.bytes(Buffer.of(value));
  }

  bool(value: boolean): this {
    return this.u8(value ? 1 : 0);
  }

  u16be(value: number): this {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(value);
    return this.bytes(b);
  }

  u32le(value: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(value >>> 0);
    return this.bytes(b);
  }

  i32le(value: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32LE(value);
    return this.bytes(b);
  }

  u64le(value: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(value);
    return this.bytes(b);
  }

  i64le(value: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(value);
    return this.bytes(b);
  }

  /** Bitcoin's CompactSize, canonical (the shortest form). */
  compactSize(value: number): this {
    if (value < 0xfd) return this.u8(value);
    if (value <= 0xffff) {
      const b = Buffer.alloc(3);
      b[0] = 0xfd;
      b.writeUInt16LE(value, 1);
      return this.bytes(b);
    }
    if (value <= 0xffffffff) {
      const b = Buffer.alloc(5);
      b[0] = 0xfe;
      b.writeUInt32LE(value, 1);
      return this.bytes(b);
    }
    const b = Buffer.alloc(9);
    b[0] = 0xff;
    b.writeBigUInt64LE(BigInt(value), 1);
    return this.bytes(b);
  }

  /** CompactSize length, then the bytes (scripts, witness items, addrv2 addresses). */
  varBytes(value: Uint8Array): this {
    return this.compactSize(value.length).bytes(value);
  }

  varString(value: string): this {
    return this.varBytes(Buffer.from(value, 'utf8'));
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
}
