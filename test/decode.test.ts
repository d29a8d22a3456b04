import { describe, expect, it } from 'vitest';
import { isMessageEvent, direction, type MessageEvent } from '../tracing/events.js';
import {
  decodePayload,
  summarize,
  summarizeMessage,
  type FeeFilterPayload,
  type HeadersPayload,
  type InventoryPayload,
  type NoncePayload,
  type SendCmpctPayload,
  type VersionPayload,
} from '../tracing/decode/index.js';
import { loadFixtureTrace } from './helpers/fixture-trace.js';

const messages = loadFixtureTrace().filter(isMessageEvent);
const sent = (type: string): MessageEvent[] =>
  messages.filter((e) => direction(e) === 'out' && e.args.msg_type === type);
const decode = <T>(e: MessageEvent): T => decodePayload(e.args.msg_type, e.args.msg ?? '', e.args.msg_size) as T;

// Little-endian hex builders, written independently of the decoder.
const le = (value: bigint | number, bytes: number): string => {
  let v = BigInt(value);
  if (v < 0n) v += 1n << BigInt(bytes * 8);
  let out = '';
  for (let i = 0; i < bytes; i++) {
    out += (v & 0xffn).toString(16).padStart(2, '0');
    v >>= 8n;
  }
  return out;
};
const ascii = (s: string): string => Buffer.from(s, 'utf8').toString('hex');
const ipv4Mapped = (ip: string): string =>
  '00'.repeat(10) + 'ffff' + ip.split('.').map((o) => Number(o).toString(16).padStart(2, '0')).join('');

function versionHex(o: { relay?: boolean; userAgent?: string; recv?: string; recvPort?: number } = {}): string {
  const ua = o.userAgent ?? '/Test:1.0/';
  return (
    le(70015, 4) +
    le(0x409, 8) +
    le(1_700_000_000, 8) +
    le(1, 8) + (o.recv ?? ipv4Mapped('127.0.0.1')) + (o.recvPort ?? 18444).toString(16).padStart(4, '0') +
    le(0x409, 8) + '00'.repeat(16) + '0000' +
    le(0x0123456789abcdefn, 8) +
    le(ua.length, 1) + ascii(ua) +
    le(-1, 4) +
    (o.relay === undefined ? '' : o.relay ? '01' : '00')
  );
}

describe('decoding real Core v29 payloads from the fixture', () => {
  it('decodes both version messages: protocol, services, user agent, height, relay', () => {
    const versions = sent('version');
    expect(versions).toHaveLength(2);
    for (const event of versions) {
      const v = decode<VersionPayload>(event);
      expect(v.stop).toBeUndefined();
      expect(v.protocolVersion).toBe(70016);
      expect(v.services?.bits).toBe(0xc09n);
      expect(v.services?.names).toEqual(['NETWORK', 'WITNESS', 'NETWORK_LIMITED', 'P2P_V2']);
      expect(v.userAgent).toBe('/Satoshi:29.0.0/');
      expect(v.startHeight).toBe(0);
      expect(v.relay).toBe(true);
      expect(v.relayOmitted).toBeUndefined();
      // Loopback is not routable, so Core sends an all-zero addr_recv and addr_from.
      expect(v.addrRecv?.address).toBe('[::]:0');
      expect(v.addrFrom?.services.bits).toBe(0xc09n);
      // The sender's clock: a real date, not a misread field.
      expect(new Date((v.timestamp ?? 0) * 1000).getUTCFullYear()).toBeGreaterThanOrEqual(2025);
    }
    // Each side picks its own nonce (that is how Core spots a connection to itself).
    const [a, b] = versions.map((e) => decode<VersionPayload>(e).nonce);
    expect(a).not.toBe(b);
  });

  it('summarizes a version in one line', () => {
    const line = summarizeMessage(sent('version')[0]!.args);
    expect(line).toBe(
      'protocol 70016 · services 0xc09 NETWORK|WITNESS|NETWORK_LIMITED|P2P_V2 · "/Satoshi:29.0.0/" · height 0 · relay yes',
    );
    expect(line).not.toContain('\n');
  });

  it('decodes sendcmpct: low-bandwidth v2 at handshake, high-bandwidth later', () => {
    const all = sent('sendcmpct').map((e) => decode<SendCmpctPayload>(e));
    expect(all.every((p) => p.version === 2n && p.stop === undefined)).toBe(true);
    expect(all.slice(0, 2).map((p) => p.highBandwidth)).toEqual([false, false]);
    expect(all.some((p) => p.highBandwidth === true)).toBe(true);
  });

  it('decodes feefilter as sat/kvB, matching what Core logs (0.09170997 BTC/kvB in IBD)', () => {
    const rates = sent('feefilter').map((e) => decode<FeeFilterPayload>(e).satPerKvB);
    expect(rates[0]).toBe(9_170_997n);
    expect(rates).toContain(1000n);
    expect(summarizeMessage(sent('feefilter')[0]!.args)).toBe('9170997 sat/kvB (0.09170997 BTC/kvB)');
  });

  it("decodes ping/pong nonces: every pong echoes the other node's ping", () => {
    const pings = sent('ping');
    expect(pings.length).toBeGreaterThan(0);
    for (const ping of pings) {
      const nonce = decode<NoncePayload>(ping).nonce;
      const echo = sent('pong').find((p) => p.node === ping.peer_node && decode<NoncePayload>(p).nonce === nonce);
      expect(echo, `pong for ping from node${ping.node}`).toBeDefined();
    }
  });

  it('decodes inv/getdata in RPC hash order: the getdata asks for what the inv announced', () => {
    const [blockInv, txInv] = sent('inv').map((e) => decode<InventoryPayload>(e));
    const [blockGetdata, txGetdata] = sent('getdata').map((e) => decode<InventoryPayload>(e));
    expect(blockInv?.entries.map((x) => x.typeName)).toEqual(['block']);
    expect(blockGetdata?.count).toBe(5);
    expect(blockGetdata?.entries.map((x) => x.typeName)).toEqual(Array(5).fill('witness-block'));
    expect(blockGetdata?.entries[0]?.hash).toBe(blockInv?.entries[0]?.hash);
    // Regtest block hashes are tiny numbers: in RPC order they start with zeros.
    expect(blockInv?.entries[0]?.hash).toMatch(/^[0-7][0-9a-f]{63}$/);
    expect(txInv?.entries.map((x) => x.typeName)).toEqual(['wtx']);
    expect(txGetdata?.entries[0]?.hash).toBe(txInv?.entries[0]?.hash);
  });

  it('decodes headers counts, including a payload the tracer cut at 200 bytes', () => {
    const counts = sent('headers').map((e) => decode<HeadersPayload>(e));
    expect(counts.map((h) => h.count)).toContain(0);
    const big = sent('headers').find((e) => e.args.msg_size === 406)!;
    expect(big.args.msg_captured).toBe(200);
    expect(decode<HeadersPayload>(big)).toEqual({ type: 'headers', count: 5 });
  });
});

describe('cut and malformed payloads', () => {
  const full = versionHex({ relay: true });

  it('a cut version keeps the fields before the cut and names the first one it lost', () => {
    const cut = full.slice(0, 90 * 2);
    const v = decodePayload('version', cut, full.length / 2) as VersionPayload;
    expect(v.protocolVersion).toBe(70015);
    expect(v.nonce).toBe(0x0123456789abcdefn);
    expect(v.userAgent).toBeUndefined();
    expect(v.stop).toMatchObject({ field: 'user agent', reason: 'cut', offset: 81 });
    expect(v.stop?.detail).toContain(`90 of ${full.length / 2}`);
    expect(summarize(v)).toMatch(/cut before user agent$/);
  });

  it('a payload cut inside the first field decodes nothing', () => {
    const v = decodePayload('version', full.slice(0, 6), 102) as VersionPayload;
    expect(v).toEqual({ type: 'version', stop: expect.objectContaining({ field: 'protocol version', reason: 'cut' }) });
  });

  it('a complete version without the relay byte relays (BIP 37), a cut one does not say', () => {
    const noRelay = versionHex();
    const complete = decodePayload('version', noRelay, noRelay.length / 2) as VersionPayload;
    expect(complete).toMatchObject({ relay: true, relayOmitted: true, startHeight: -1 });
    expect(complete.stop).toBeUndefined();
    const cut = decodePayload('version', noRelay, noRelay.length / 2 + 1) as VersionPayload;
    expect(cut.relay).toBeUndefined();
    expect(cut.stop).toMatchObject({ field: 'relay', reason: 'cut' });
    expect((decodePayload('version', versionHex({ relay: false })) as VersionPayload).relay).toBe(false);
  });

  it('a message that is complete yet too short is malformed, not cut', () => {
    const p = decodePayload('feefilter', 'e803', 2) as FeeFilterPayload;
    expect(p.stop).toMatchObject({ field: 'fee rate', reason: 'malformed' });
    expect((decodePayload('feefilter', 'e803', 8) as FeeFilterPayload).stop?.reason).toBe('cut');
  });

  it('formats IPv4-mapped and IPv6 addresses', () => {
    const v4 = decodePayload('version', versionHex({ relay: true })) as VersionPayload;
    expect(v4.addrRecv?.address).toBe('127.0.0.1:18444');
    const v6 = decodePayload(
      'version',
      versionHex({ relay: true, recv: '20010db8' + '00'.repeat(11) + '01', recvPort: 8333 }),
    ) as VersionPayload;
    expect(v6.addrRecv?.address).toBe('[2001:db8::1]:8333');
  });

  it('rejects an oversized user agent as Core would', () => {
    const hex = full.slice(0, 80 * 2) + 'fd' + le(300, 2) + '41'.repeat(300) + le(0, 4) + '01';
    const v = decodePayload('version', hex, hex.length / 2) as VersionPayload;
    expect(v.stop).toMatchObject({ field: 'user agent', reason: 'malformed' });
    expect(v.stop?.detail).toContain('256');
  });

  it('names unknown service bits the way Core does', () => {
    const hex = le(70016, 4) + le((1n << 5n) | 1n, 8);
    const v = decodePayload('version', hex) as VersionPayload;
    expect(v.services?.names).toEqual(['NETWORK']);
    expect(v.services?.unknownBits).toEqual([5]);
    expect(summarize(v)).toContain('services 0x21 NETWORK|UNKNOWN[2^5]');
  });
});

describe('CompactSize counts', () => {
  const entry = (type: number, byte: string): string => le(type, 4) + byte.repeat(32);

  it('reads the 0xfd / 0xfe / 0xff forms', () => {
    const inv = decodePayload('inv', 'fdfd00' + entry(1, 'aa'), 3 + 253 * 36) as InventoryPayload;
    expect(inv.count).toBe(253);
    expect(inv.entries).toHaveLength(1);
    expect(inv.stop).toMatchObject({ field: 'entry 1 type', reason: 'cut' });
    const headers = decodePayload('headers', 'fe' + le(0x10000, 4)) as HeadersPayload;
    expect(headers.count).toBe(0x10000);
    expect(headers.stop).toMatchObject({ field: 'count', reason: 'malformed' });
  });

  it('refuses huge and non-canonical sizes instead of looping or overflowing', () => {
    const huge = decodePayload('inv', 'ff' + 'ff'.repeat(8)) as InventoryPayload;
    expect(huge.count).toBeUndefined();
    expect(huge.stop).toMatchObject({ field: 'count', reason: 'malformed' });
    expect(huge.stop?.detail).toContain('18446744073709551615');
    const nonCanonical = decodePayload('getdata', 'fd0500') as InventoryPayload;
    expect(nonCanonical.stop?.detail).toMatch(/non-canonical/);
    const tooMany = decodePayload('inv', 'fd' + le(60_000, 2)) as InventoryPayload;
    expect(tooMany.stop?.detail).toContain('MAX_INV_SZ');
  });

  it('a CompactSize cut in the middle says so', () => {
    const p = decodePayload('inv', 'ff0102', 37) as InventoryPayload;
    expect(p.stop).toMatchObject({ field: 'count', reason: 'cut' });
  });

  it('names witness and unknown inventory types', () => {
    const p = decodePayload('getdata', '03' + entry(0x40000001, '01') + entry(4, '02') + entry(9, '03')) as InventoryPayload;
    expect(p.entries.map((e) => e.typeName)).toEqual(['witness-tx', 'cmpctblock', '?0x00000009']);
    // RPC order is the wire order reversed.
    expect(decodePayload('inv', '01' + le(1, 4) + '00'.repeat(31) + 'ff')).toMatchObject({
      entries: [{ hash: 'ff' + '00'.repeat(31) }],
    });
  });
});

describe('dispatcher edges', () => {
  it('returns undefined for types without a decoder or without a payload', () => {
    expect(decodePayload('verack', '')).toBeUndefined();
    expect(decodePayload('cmpctblock', '00')).toBeUndefined();
    expect(summarizeMessage({ msg_type: 'verack', msg: '', msg_size: 0 })).toBeUndefined();
    expect(summarizeMessage({ msg_type: 'version', msg_size: 102 })).toBeUndefined();
  });

  it('throws a clear error on text that is not hex', () => {
    expect(() => decodePayload('ping', 'abc')).toThrow(/odd length/);
    expect(() => decodePayload('ping', 'zz')).toThrow(/non-hex/);
  });
});
