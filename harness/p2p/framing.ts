/**
 * v1 transport framing: 4 bytes network magic, 12 bytes command (NUL-padded ASCII), 4 bytes
 * payload length (LE), 4 bytes checksum (the first 4 bytes of the payload's double SHA-256),
 * then the payload. The decoder reports what Core's V1Transport checks (magic, size, checksum)
 * instead of throwing, so a test can see exactly what a node sent.
 */
import { sha256d } from './hash.js';

/** Regtest's message start (chainparams.cpp: pchMessageStart fa bf b5 da). */
export const REGTEST_MAGIC = Buffer.from('fabfb5da', 'hex');
export const HEADER_SIZE = 24;
export const COMMAND_SIZE = 12;
/** Core's MAX_PROTOCOL_MESSAGE_LENGTH (net.h): a header declaring more gets the peer disconnected. */
export const MAX_PROTOCOL_MESSAGE_LENGTH = 4_000_000;

export function checksum(payload: Uint8Array): Buffer {
  return sha256d(payload).subarray(0, 4);
}

export interface FrameHeader {
  magic: Buffer;
  command: string;
  length: number;
  checksum: Buffer;
}

/** A well-formed frame: header plus payload. Pass `override` to build malformed ones for sendRaw. */
export function encodeFrame(
  command: string,
  payload: Uint8Array,
  override: { magic?: Uint8Array; length?: number; checksum?: Uint8Array } = {},
): Buffer {
  if (!/^[\x21-\x7e]{1,12}$/.test(command)) throw new TypeError(`'${command}' is not a P2P command (1–12 printable ASCII characters)`);
  const header = Buffer.alloc(HEADER_SIZE);
  Buffer.from(override.magic ?? REGTEST_MAGIC).copy(header, 0);
  header.write(command, 4, 'ascii');
  header.writeUInt32LE(override.length ?? payload.length, 16);
  Buffer.from(override.checksum ?? checksum(payload)).copy(header, 20);
  return Buffer.concat([header, Buffer.from(payload)]);
}

export function decodeHeader(bytes: Uint8Array): FrameHeader {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, HEADER_SIZE);
  const rawCommand = b.subarray(4, 16);
  const end = rawCommand.indexOf(0);
  return {
    magic: Buffer.from(b.subarray(0, 4)),
    command: rawCommand.subarray(0, end < 0 ? COMMAND_SIZE : end).toString('ascii'),
    length: b.readUInt32LE(16),
    checksum: Buffer.from(b.subarray(20, 24)),
  };
}

export interface Frame {
  command: string;
  payload: Buffer;
  /** False when the checksum does not match the payload (Core drops such a message). */
  checksumOk: boolean;
}

export type FrameProblem = { kind: 'bad-magic'; magic: Buffer } | { kind: 'oversized'; command: string; length: number };

/**
 * Reassembles frames from a byte stream. After a problem (bad magic, oversized length) the stream
 * cannot be resynchronised, as in Core: the caller closes the connection.
 */
export class FrameDecoder {
  private buffered = Buffer.alloc(0);
  private broken = false;

  constructor(private readonly magic: Uint8Array = REGTEST_MAGIC) {}

  /** Frames completed by `chunk`, or the problem that ends the stream. */
  push(chunk: Uint8Array): { frames: Frame[]; problem?: FrameProblem } {
    const frames: Frame[] = [];
    if (this.broken) return { frames };
    this.buffered = this.buffered.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= HEADER_SIZE) {
      const header = decodeHeader(this.buffered);
      if (!header.magic.equals(Buffer.from(this.magic))) {
        this.broken = true;
        return { frames, problem: { kind: 'bad-magic', magic: header.magic } };
      }
      if (header.length > MAX_PROTOCOL_MESSAGE_LENGTH) {
        this.broken = true;
        return { frames, problem: { kind: 'oversized', command: header.command, length: header.length } };
      }
      if (this.buffered.length < HEADER_SIZE + header.length) break;
      const payload = Buffer.from(this.buffered.subarray(HEADER_SIZE, HEADER_SIZE + header.length));
      this.buffered = this.buffered.subarray(HEADER_SIZE + header.length);
      frames.push({ command: header.command, payload, checksumOk: checksum(payload).equals(header.checksum) });
    }
    return { frames };
  }
}
