/** The tracepoint catalog against the facts it encodes (docs/sources.md, "The tracepoint catalog") and events.ts. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  argumentsFor,
  catalog,
  isTracepointName,
  MAX_MISBEHAVING_MESSAGE_LENGTH,
  MAX_MSG_TYPE_LENGTH,
  MAX_PEER_ADDR_LENGTH,
  MAX_PEER_CONN_TYPE_LENGTH,
  MAX_REJECT_REASON_LENGTH,
  MAX_REMOVAL_REASON_LENGTH,
  NET_TRACEPOINTS,
  tracepoint,
  tracepointsOf,
} from '../tracing/catalog.js';

/** Field names per args interface, read from events.ts itself so the two cannot drift apart. */
function eventsFields(): Map<string, string[]> {
  const source = readFileSync(new URL('../tracing/events.ts', import.meta.url), 'utf8');
  const interfaces = new Map<string, string[]>();
  for (const m of source.matchAll(/export interface (\w+Args) \{([\s\S]*?)\n\}/g)) {
    interfaces.set(m[1]!, [...m[2]!.matchAll(/^\s+(\w+)\??:/gm)].map((f) => f[1]!));
  }
  const byTracepoint = new Map<string, string[]>();
  const map = /export interface TracepointArgsMap \{([\s\S]*?)\n\}/.exec(source)![1]!;
  for (const m of map.matchAll(/'([a-z_]+:[a-z_]+)': (\w+);/g)) byTracepoint.set(m[1]!, interfaces.get(m[2]!)!);
  return byTracepoint;
}

describe('tracepoint catalog', () => {
  it('has the 20 tracepoints of Core v29, each once, per context 7/1/4/4/4', () => {
    expect(catalog).toHaveLength(20);
    expect(new Set(catalog.map((r) => r.name)).size).toBe(20);
    const counts = Object.fromEntries(['net', 'validation', 'utxocache', 'coin_selection', 'mempool'].map((c) => [c, tracepointsOf(c as never).length]));
    expect(counts).toEqual({ net: 7, validation: 1, utxocache: 4, coin_selection: 4, mempool: 4 });
    for (const r of catalog) expect(r.name).toBe(`${r.context}:${r.event}`);
    expect(NET_TRACEPOINTS).toHaveLength(7);
    expect(NET_TRACEPOINTS.every((n) => n.startsWith('net:'))).toBe(true);
  });

  it('uses exactly the argument field names of tracing/events.ts (msg_captured is tracer-made, raw peer-made)', () => {
    const fields = eventsFields();
    expect(fields.size).toBe(20);
    for (const r of catalog) {
      const declared = fields.get(r.name)!.filter((f) => f !== 'msg_captured' && f !== 'raw');
      expect(r.arguments.map((a) => a.name), r.name).toEqual(declared);
    }
  });

  it('gives strings Core\'s documented maximum lengths (§1d) and hashes 32 bytes', () => {
    const max = (name: Parameters<typeof tracepoint>[0], arg: string) => tracepoint(name).arguments.find((a) => a.name === arg)?.maxLength;
    expect([MAX_PEER_ADDR_LENGTH, MAX_PEER_CONN_TYPE_LENGTH, MAX_MSG_TYPE_LENGTH]).toEqual([68, 20, 20]);
    expect(max('net:inbound_message', 'peer_addr')).toBe(68);
    expect(max('net:outbound_message', 'msg_type')).toBe(20);
    expect(max('net:closed_connection', 'peer_conn_type')).toBe(20);
    expect(max('net:misbehaving_connection', 'message')).toBe(MAX_MISBEHAVING_MESSAGE_LENGTH);
    expect(MAX_MISBEHAVING_MESSAGE_LENGTH).toBe(128);
    expect(max('mempool:removed', 'reason')).toBe(MAX_REMOVAL_REASON_LENGTH);
    expect(MAX_REMOVAL_REASON_LENGTH).toBe('sizelimit'.length);
    expect(max('mempool:rejected', 'reason')).toBe(MAX_REJECT_REASON_LENGTH);
    expect(MAX_REJECT_REASON_LENGTH).toBe(118);
    for (const r of catalog) {
      for (const a of r.arguments) {
        if (a.kind === 'string') expect(a.maxLength, `${r.name} ${a.name}`).toBeGreaterThan(0);
        if (a.kind === 'hash32') expect(a.maxLength).toBe(32);
        // C type and decoding agree.
        const expected = { string: 'const char*', hash32: 'const unsigned char*', bytes: 'const unsigned char*', bool: 'bool' }[a.kind as string];
        if (expected) expect(a.cType, `${r.name} ${a.name}`).toBe(expected);
        if (a.kind === 'int') expect(a.cType).toMatch(/^int(32|64)$/);
        if (a.kind === 'uint') expect(a.cType).toMatch(/^uint(32|64)$/);
      }
    }
  });

  it('knows which release brought what (§1 table, §6)', () => {
    expect(tracepoint('net:inbound_message').addedIn).toBe('22.0');
    expect(tracepoint('validation:block_connected').addedIn).toBe('22.0');
    expect(tracepointsOf('utxocache').map((r) => r.addedIn)).toEqual(['23.0', '23.0', '23.0', '23.0']);
    expect(tracepointsOf('mempool').every((r) => r.addedIn === '25.0')).toBe(true);
    const connection = ['net:inbound_connection', 'net:outbound_connection', 'net:evicted_inbound_connection', 'net:misbehaving_connection', 'net:closed_connection'] as const;
    for (const n of connection) expect(tracepoint(n).addedIn).toBe('29.0');
    // v28.1 had no semaphores; v29 has one on every tracepoint.
    expect(catalog.every((r) => r.semaphoreSince === '29.0')).toBe(true);
    expect(tracepoint('validation:block_connected').changes.map((c) => c.pr)).toContain('https://github.com/bitcoin/bitcoin/pull/29877');
    expect(tracepoint('mempool:replaced').arguments.at(-1)).toMatchObject({ name: 'replaced_by_transaction', addedIn: '29.0' });
  });

  it('argumentsFor: a probe\'s argument count selects a prefix of the records', () => {
    expect(argumentsFor('mempool:replaced', 7).map((a) => a.name)).not.toContain('replaced_by_transaction');
    expect(argumentsFor('mempool:replaced', 8)).toHaveLength(8);
    expect(() => argumentsFor('mempool:replaced', 6)).toThrow(/no Core release passed fewer than 7/);
    expect(() => argumentsFor('mempool:replaced', 9)).toThrow(/catalog knows 8/);
    expect(argumentsFor('net:inbound_message', 6).map((a) => a.name)).toEqual(['peer_id', 'peer_addr', 'peer_conn_type', 'msg_type', 'msg_size', 'msg']);
  });

  it('recognizes names and rejects others', () => {
    expect(isTracepointName('net:inbound_message')).toBe(true);
    expect(isTracepointName('net:block_header')).toBe(false); // unverified (§1c), not in the catalog
    expect(isTracepointName('net:inbound_message ')).toBe(false);
    expect(() => tracepoint('net:nope' as never)).toThrow(/not a catalog tracepoint/);
  });
});
