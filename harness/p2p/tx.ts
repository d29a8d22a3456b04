/**
 * Transactions and blocks as typed objects with their ids: txid = double SHA-256 of the
 * serialization without witnesses, wtxid = of the full one (BIP 144; equal for non-segwit),
 * block hash = of the 80-byte header. Encoding a decoded object gives back the same bytes.
 */
import type { PayloadReader } from '../../tracing/decode/reader.js';
import { displayHash, sha256d } from './hash.js';
import { PayloadWriter } from './writer.js';

export interface OutPoint {
  /** RPC hex of the spent transaction's id. */
  txid: string;
  vout: number;
}

export interface TxInput {
  prevout: OutPoint;
  scriptSig: Buffer;
  sequence: number;
  /** Witness stack items (empty for non-segwit inputs). */
  witness: Buffer[];
}

export interface TxOutput {
  /** Satoshis. */
  value: bigint;
  scriptPubKey: Buffer;
}

export interface Transaction {
  version: number;
  inputs: TxInput[];
  outputs: TxOutput[];
  locktime: number;
  /** Serialized with the segwit marker and flag (BIP 144). */
  segwit: boolean;
  /** RPC hex, computed from the fields when decoded or built with makeTransaction. */
  txid: string;
  wtxid: string;
}

export interface BlockHeader {
  version: number;
  prevBlock: string;
  merkleRoot: string;
  time: number;
  bits: number;
  nonce: number;
  /** RPC hex of the header's double SHA-256. */
  hash: string;
}

export function readTransaction(reader: PayloadReader): Transaction {
  const version = reader.i32le('tx version');
  let inputCount = reader.compactSize('tx input count');
  let segwit = false;
  if (inputCount === 0) {
    const flag = reader.u8('tx segwit flag');
    if (flag !== 1) reader.malformed('tx segwit flag', reader.position - 1, `flag ${flag} is not 1`);
    segwit = true;
    inputCount = reader.compactSize('tx input count');
  }
  const inputs: TxInput[] = [];
  for (let i = 0; i < inputCount; i++) {
    const hash = reader.take(`input ${i} prevout hash`, 32);
    const vout = reader.u32le(`input ${i} prevout index`);
    const scriptSig = Buffer.from(reader.take(`input ${i} scriptSig`, reader.compactSize(`input ${i} scriptSig length`)));
    const sequence = reader.u32le(`input ${i} sequence`);
    inputs.push({ prevout: { txid: displayHash(hash), vout }, scriptSig, sequence, witness: [] });
  }
  const outputs: TxOutput[] = [];
  const outputCount = reader.compactSize('tx output count');
  for (let i = 0; i < outputCount; i++) {
    const value = reader.i64le(`output ${i} value`);
    const scriptPubKey = Buffer.from(reader.take(`output ${i} scriptPubKey`, reader.compactSize(`output ${i} script length`)));
    outputs.push({ value, scriptPubKey });
  }
  if (segwit) {
    for (const [i, input] of inputs.entries()) {
      const items = reader.compactSize(`input ${i} witness count`);
      for (let k = 0; k < items; k++) input.witness.push(Buffer.from(reader.take(`input ${i} witness item`, reader.compactSize(`input ${i} witness item length`))));
    }
  }
  const locktime = reader.u32le('tx locktime');
  return withIds({ version, inputs, outputs, locktime, segwit });
}

export function writeTransaction(writer: PayloadWriter, tx: Omit<Transaction, 'txid' | 'wtxid'>, withWitness = tx.segwit): PayloadWriter {
  writer.i32le(tx.version);
  if (withWitness) writer.u8(0).u8(1);
  writer.compactSize(tx.inputs.length);
  for (const input of tx.inputs) {
    writer.bytes(Buffer.from(input.prevout.txid, 'hex').reverse()).u32le(input.prevout.vout).varBytes(input.scriptSig).u32le(input.sequence);
  }
  writer.compactSize(tx.outputs.length);
  for (const output of tx.outputs) writer.i64le(output.value).varBytes(output.scriptPubKey);
  if (withWitness) {
    for (const input of tx.inputs) {
      writer.compactSize(input.witness.length);
      for (const item of input.witness) writer.varBytes(item);
    }
  }
  return writer.u32le(tx.locktime);
}

export function serializeTransaction(tx: Omit<Transaction, 'txid' | 'wtxid'>): Buffer {
  return writeTransaction(new PayloadWriter(), tx).toBuffer();
}

/** Computes txid and wtxid from the fields. */
export function withIds(tx: Omit<Transaction, 'txid' | 'wtxid'>): Transaction {
  const stripped = writeTransaction(new PayloadWriter(), tx, false).toBuffer();
  const full = tx.segwit ? writeTransaction(new PayloadWriter(), tx, true).toBuffer() : stripped;
  return { ...tx, txid: displayHash(sha256d(stripped)), wtxid: displayHash(sha256d(full)) };
}

export function readBlockHeader(reader: PayloadReader): BlockHeader {
  const raw = Buffer.from(reader.take('block header', 80));
  return {
    version: raw.readInt32LE(0),
    prevBlock: displayHash(raw.subarray(4, 36)),
    merkleRoot: displayHash(raw.subarray(36, 68)),
    time: raw.readUInt32LE(68),
    bits: raw.readUInt32LE(72),
    nonce: raw.readUInt32LE(76),
    hash: displayHash(sha256d(raw)),
  };
}

export function serializeBlockHeader(header: Omit<BlockHeader, 'hash'>): Buffer {
  return new PayloadWriter()
    .i32le(header.version)
    .bytes(Buffer.from(header.prevBlock, 'hex').reverse())
    .bytes(Buffer.from(header.merkleRoot, 'hex').reverse())
    .u32le(header.time)
    .u32le(header.bits)
    .u32le(header.nonce)
    .toBuffer();
}

/** A header object with its hash computed from the fields. */
export function makeBlockHeader(fields: Omit<BlockHeader, 'hash'>): BlockHeader {
  return { ...fields, hash: displayHash(sha256d(serializeBlockHeader(fields))) };
}
