import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodePayload, encodePayload } from '../../harness/p2p/codec.js';
import { checksum, encodeFrame, FrameDecoder, MAX_PROTOCOL_MESSAGE_LENGTH } from '../../harness/p2p/framing.js';
import { sha256d } from '../../harness/p2p/hash.js';
import { serializeTransaction, withIds } from '../../harness/p2p/tx.js';

const fixture = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'core-v29-two-nodes.ndjson');

interface Captured {
  msg_type: string;
  msg_size: number;
  payload_hex: string;
}

/** The fixture's payloads that were captured whole (the tracer kept the first 200 bytes). */
const whole = readFileSync(fixture, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((line) => JSON.parse(line) as Captured)
  .filter((e) => e.payload_hex.length / 2 === e.msg_size);

const TYPED = ['version', 'verack', 'wtxidrelay', 'sendaddrv2', 'sendcmpct', 'feefilter', 'ping', 'pong', 'getaddr', 'inv', 'getdata', 'getheaders', 'headers', 'sendheaders'];

describe('codec on a real Core v29 trace (test/fixtures/core-v29-two-nodes.ndjson)', () => {
  it('holds every message type the handshake and relay use, captured whole', () => {
    expect(new Set(whole.map((e) => e.msg_type))).toEqual(new Set(TYPED));
  });

  it.each(TYPED)('decodes every whole %s to its typed object and encodes it back byte for byte', (type) => {
    const samples = whole.filter((e) => e.msg_type === type);
    expect(samples.length).toBeGreaterThan(0);
    for (const sample of samples) {
      const bytes = Buffer.from(sample.payload_hex, 'hex');
      const message = decodePayload(type, bytes);
      expect(message.type).toBe(type);
      expect(encodePayload(message).toString('hex')).toBe(sample.payload_hex);
    }
  });

  it('reads the v29 version fields', () => {
    const version = whole.find((e) => e.msg_type === 'version')!;
    const message = decodePayload('version', Buffer.from(version.payload_hex, 'hex'));
    expect(message).toMatchObject({ type: 'version', protocolVersion: 70016, services: 0xc09n, userAgent: '/Satoshi:29.0.0/', relay: true });
  });

  it('keeps what it cannot decode as raw bytes (a truncated block)', () => {
    const message = decodePayload('block', Buffer.from('00', 'hex'));
    expect(message).toEqual({ type: 'unknown', command: 'block', payload: Buffer.from('00', 'hex') });
  });
});

describe('framing', () => {
  it('checksums with the first 4 bytes of double SHA-256 (the empty payload: 5df6e0e2)', () => {
    expect(checksum(Buffer.alloc(0)).toString('hex')).toBe('5df6e0e2');
    expect(sha256d(Buffer.from('hello')).toString('hex')).toBe('9595c9df90075148eb06860365df33584b75bff782a510c6cd4883a419833d50');
  });

  it('reassembles frames split anywhere, and flags a bad checksum', () => {
    const stream = Buffer.concat([encodeFrame('verack', Buffer.alloc(0)), encodeFrame('ping', Buffer.alloc(8, 7), { checksum: Buffer.alloc(4) })]);
    const decoder = new FrameDecoder();
    const frames = [...stream].flatMap((byte) => decoder.push(Buffer.of(byte)).frames);
    expect(frames.map((f) => [f.command, f.payload.length, f.checksumOk])).toEqual([
      ['verack', 0, true],
      ['ping', 8, false],
    ]);
  });

  it('stops at a header declaring more than MAX_PROTOCOL_MESSAGE_LENGTH, as Core does', () => {
    const decoder = new FrameDecoder();
    const result = decoder.push(encodeFrame('badmsg', Buffer.alloc(0), { length: MAX_PROTOCOL_MESSAGE_LENGTH + 1 }));
    expect(result.problem).toEqual({ kind: 'oversized', command: 'badmsg', length: MAX_PROTOCOL_MESSAGE_LENGTH + 1 });
  });
});

describe('transaction ids', () => {
  // The regtest genesis coinbase (chainparams.cpp): its txid is the genesis merkle root.
  const genesisCoinbase =
    '01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff4d04ffff001d0104455468652054696d65732030332f4a616e2f32303039204368616e63656c6c6f72206f6e206272696e6b206f66207365636f6e64206261696c6f757420666f722062616e6b73ffffffff0100f2052a01000000434104678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5fac00000000';

  it('computes the genesis coinbase txid = wtxid (no witness) and re-encodes it', () => {
    const message = decodePayload('tx', Buffer.from(genesisCoinbase, 'hex'));
    if (message.type !== 'tx') throw new Error('not decoded');
    expect(message.tx.txid).toBe('4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b');
    expect(message.tx.wtxid).toBe(message.tx.txid);
    expect(encodePayload(message).toString('hex')).toBe(genesisCoinbase);
  });

  it('gives a segwit tx a wtxid over the witness and a txid without it', () => {
    const tx = withIds({
      version: 2,
      inputs: [{ prevout: { txid: '11'.repeat(32), vout: 0 }, scriptSig: Buffer.alloc(0), sequence: 0xfffffffd, witness: [Buffer.from('abcd', 'hex')] }],
      outputs: [{ value: 1000n, scriptPubKey: Buffer.from('51', 'hex') }],
      locktime: 0,
      segwit: true,
    });
    expect(tx.wtxid).not.toBe(tx.txid);
    const stripped = serializeTransaction({ ...tx, segwit: false });
    expect(tx.txid).toBe(Buffer.from(sha256d(stripped)).reverse().toString('hex'));
    const decoded = decodePayload('tx', serializeTransaction(tx));
    expect(decoded).toMatchObject({ type: 'tx', tx: { txid: tx.txid, wtxid: tx.wtxid } });
  });
});
