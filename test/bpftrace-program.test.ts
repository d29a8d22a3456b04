/** Program generation and output parsing, without running bpftrace. */
import { describe, expect, it } from 'vitest';
import { isHarnessError } from '../harness/common/errors.js';
import type { ProbeNote } from '../tracing/elf-notes.js';
import { generateProgram, operandExpression, WORD_PAYLOAD_MAX } from '../tracing/bpftrace/program.js';
import { BpftraceOutputParser, hashToRpcHex, wordsToHex } from '../tracing/bpftrace/parse.js';

const ELF = '/opt/bitcoin-29.0/bin/bitcoind';
const note = (provider: string, name: string, args: string[]): ProbeNote => ({ provider, name, location: '0x1', base: '0x2', semaphore: '0x3', args });

function expectCode(fn: () => unknown, code: string, message: RegExp) {
  try {
    fn();
  } catch (error) {
    expect(isHarnessError(error)).toBe(true);
    expect((error as { code: string }).code).toBe(code);
    expect((error as Error).message).toMatch(message);
    expect((error as { fix: string }).fix.length).toBeGreaterThan(10);
    return;
  }
  throw new Error('did not throw');
}

describe('bpftrace program generation', () => {
  it('defaults to the 7 net tracepoints, one body per string and payload, probes in path mode', () => {
    const program = generateProgram({ elfPath: ELF });
    expect([...program.layouts.keys()]).toHaveLength(7);
    const inbound = program.layouts.get('net:inbound_message')!;
    expect(inbound.bodies.map((b) => b.role)).toEqual(['head', 'string', 'string', 'string', 'payload']);
    expect(inbound.bodies[0]!.args.map((a) => a.name)).toEqual(['peer_id', 'msg_size']);
    expect(program.text).toContain(`usdt:${ELF}:net:inbound_message {`);
    expect(program.text).toContain('str(arg1, 69)'); // 68-char address + NUL
    expect(program.text).toMatch(/buf\(arg5, \$len\)/);
    expect(program.text).not.toMatch(/ -p /);
    expect(program.env.BPFTRACE_STRLEN).toBe('200');
  });

  it('rejects unsafe paths, unknown tracepoints and out-of-range numbers with a fix', () => {
    expectCode(() => generateProgram({ elfPath: 'bitcoind' }), 'BAD_OPTION', /must be absolute/);
    expectCode(() => generateProgram({ elfPath: '/tmp/a b/bitcoind' }), 'BAD_OPTION', /only letters/);
    expectCode(() => generateProgram({ elfPath: '/x/bitcoind"; system("id")' }), 'BAD_OPTION', /only letters/);
    expectCode(() => generateProgram({ elfPath: ELF, tracepoints: ['net:nope' as never] }), 'BAD_OPTION', /not a Bitcoin Core tracepoint/);
    expectCode(() => generateProgram({ elfPath: ELF, payloadBytes: 201 }), 'BAD_OPTION', /out of range/);
    expectCode(() => generateProgram({ elfPath: ELF, payloadBytes: 1.5 }), 'BAD_OPTION', /out of range/);
  });

  it('without probe notes, mempool:replaced arguments past arg5 are reported unavailable, not dropped', () => {
    const program = generateProgram({ elfPath: ELF, tracepoints: ['mempool:replaced'] });
    expect(program.unavailable.map((u) => u.argument)).toEqual(['replacement_fee', 'replaced_by_transaction']);
    expect(program.unavailable[0]!.reason).toMatch(/arg0–arg5/);
  });

  it('with probe notes, reads args past arg5 from their operands, and follows the probe\'s arity', () => {
    const v29 = note('mempool', 'replaced', ['8@16(%rdi)', '-4@24(%rdi)', '-8@48(%rdi)', '8@80(%rdi)', '8@112(%rdi)', '-4@120(%rdi)', '-8@144(%rdi)', '1@%al']);
    const program = generateProgram({ elfPath: ELF, tracepoints: ['mempool:replaced'], probeNotes: [v29] });
    expect(program.unavailable).toEqual([]);
    expect(program.text).toContain('(int64)*(uint64*)(reg("di") + 144)');
    expect(program.text).toContain('(uint8)reg("ax")');
    const v28 = { ...v29, args: v29.args.slice(0, 7) };
    const older = generateProgram({ elfPath: ELF, tracepoints: ['mempool:replaced'], probeNotes: [v28] });
    expect(older.layouts.get('mempool:replaced')!.args.map((a) => a.name)).not.toContain('replaced_by_transaction');
  });

  it('a tracepoint the binary lacks is NO_PROBES', () => {
    expectCode(
      () => generateProgram({ elfPath: ELF, tracepoints: ['net:inbound_connection'], probeNotes: [note('net', 'inbound_message', [])] }),
      'NO_PROBES',
      /has no net:inbound_connection probe/,
    );
  });

  it('translates sdt operands into bpftrace expressions, and says why when it cannot', () => {
    expect(operandExpression('-8@%rbx')).toEqual({ expr: 'reg("bx")' });
    expect(operandExpression('4@%r12d')).toEqual({ expr: 'reg("r12")' });
    expect(operandExpression('-4@-20(%rbp)')).toEqual({ expr: '*(uint32*)(reg("bp") - 20)' });
    expect(operandExpression('8@(%rsp)')).toEqual({ expr: '*(uint64*)(reg("sp") + 0)' });
    expect(operandExpression('8@$102')).toEqual({ expr: '102' });
    expect(operandExpression('8@8(%rax,%rbx,2)')).toMatchObject({ reason: expect.stringContaining('not a form') });
  });
});

describe('bpftrace output parsing', () => {
  const program = generateProgram({ elfPath: ELF, tracepoints: ['net:inbound_message', 'mempool:rejected'] });
  const ids = (name: 'net:inbound_message' | 'mempool:rejected') => program.layouts.get(name)!.bodies.map((b) => b.id);

  it('joins a hit\'s bodies whatever order they arrive in, per thread and hit number', () => {
    const parser = new BpftraceOutputParser(program);
    const [head, addr, type, msgType, payload] = ids('net:inbound_message');
    // Thread 11 hit #1 and #2 interleaved, parts before heads.
    const lines = [
      `BTP ${addr} 11 2 127.0.0.1:2`,
      `BTP ${addr} 11 1 127.0.0.1:1 with space`,
      `BTH ${head} 100 11 1 5000 7 3`,
      `BTP ${type} 11 1 inbound`,
      `BTP ${msgType} 11 1 ping`,
      `BTP ${payload} 11 1 aa bb cc`,
      `BTH ${head} 100 11 2 6000 -8 250`,
      `BTP ${type} 11 2 manual`,
      `BTP ${msgType} 11 2 version`,
    ];
    const records = lines.flatMap((l) => {
      const parsed = parser.push(l);
      return parsed.kind === 'records' ? parsed.records : [];
    });
    expect(records).toHaveLength(1);
    expect(records[0]).toEqual({
      pid: 100,
      tid: 11,
      ns: 5000n,
      tracepoint: 'net:inbound_message',
      args: { peer_id: 7, peer_addr: '127.0.0.1:1 with space', peer_conn_type: 'inbound', msg_type: 'ping', msg_size: 3, msg: 'aabbcc', msg_captured: 3 },
    });
    expect(parser.incompleteHits).toBe(1);
    const last = parser.push(`BTP ${payload} 11 2 ${'01 '.repeat(200).trim()}`);
    expect(last.kind === 'records' && last.records[0]!.args).toMatchObject({ peer_id: -8, msg_size: 250, msg_captured: 200 });
    expect(parser.receivedRecords).toBe(10);
  });

  it('reverses hashes into RPC order and counts lost records', () => {
    expect(hashToRpcHex('00 01 02 ff')).toBe('ff020100');
    const parser = new BpftraceOutputParser(program);
    const [head, hash, reason] = ids('mempool:rejected');
    parser.push(`BTH ${head} 5 5 1 1`);
    parser.push(`BTP ${hash} 5 1 ${Array.from({ length: 32 }, (_, k) => k.toString(16).padStart(2, '0')).join(' ')}`);
    const done = parser.push(`BTP ${reason} 5 1 min relay fee not met`);
    expect(done.kind === 'records' && done.records[0]!.args).toEqual({
      txid: Array.from({ length: 32 }, (_, k) => (31 - k).toString(16).padStart(2, '0')).join(''),
      reason: 'min relay fee not met',
    });
    expect(parser.push('Lost 17 events')).toEqual({ kind: 'lost', count: 17 });
    expect(parser.push('Lost 3 events')).toEqual({ kind: 'lost', count: 3 });
    expect(parser.lostRecords).toBe(20);
    expect(parser.push('BTREADY')).toEqual({ kind: 'ready' });
    expect(parser.push('BTFLUSH 1 4242')).toEqual({ kind: 'flush', cpu: 1, pid: 4242, lost: 0 });
    expect(parser.push('something else')).toEqual({ kind: 'other', line: 'something else' });
  });
});

describe('one probe body per tracepoint (bpftrace >= 0.20)', () => {
  const tracepoints = ['net:inbound_message', 'net:outbound_message', 'net:closed_connection'] as const;

  it('attaches one probe per tracepoint with every part, and captures up to 4096 payload bytes', () => {
    const multi = generateProgram({ elfPath: ELF, tracepoints });
    const one = generateProgram({ elfPath: ELF, tracepoints, oneBody: true });
    expect(multi.probeCount).toBe(5 + 5 + 3);
    expect(one.probeCount).toBe(3);
    expect(one.text.split('\n').filter((line) => line.startsWith('usdt:'))).toHaveLength(3);
    expect(one.text).toMatch(/^config = \{ max_strlen = 4096 \}/);
    // A smaller capture makes every hit's record smaller: max_strlen follows it, down to the longest string.
    expect(generateProgram({ elfPath: ELF, tracepoints, oneBody: true, payloadBytes: 256 }).text).toMatch(/^config = \{ max_strlen = 256 \}/);
    expect(generateProgram({ elfPath: ELF, tracepoints, oneBody: true, payloadBytes: 0 }).text).toMatch(/^config = \{ max_strlen = 69 \}/);
    expect(one.payloadBytes).toBe(4096);
    expect(one.env).toEqual({});
    // The same parts, printed by one printf: one perf record and one line per hit, no counters.
    expect(one.bodies.map((b) => b.role)).toEqual(multi.bodies.map((b) => b.role));
    const inbound = one.text.split('\n').find((line) => line.includes(':net:inbound_message {'))!;
    expect(inbound).not.toContain('@n');
    // Payloads up to WORD_PAYLOAD_MAX bytes print as 64-bit words (no buf() to format), longer ones through buf().
    const words = Array(WORD_PAYLOAD_MAX / 8).fill('%lx').join(' ');
    expect(inbound).toContain(`if (arg4 <= ${WORD_PAYLOAD_MAX}) { printf("BTR %lu %d %d %d %lu %ld %lu\\t%s\\t%s\\t%s\\tw${words}\\n"`);
    expect(inbound).toContain(`*(uint64*)(arg5 + ${WORD_PAYLOAD_MAX - 8})); } else { $len = arg4 > 4096 ? 4096 : arg4; printf("BTR %lu %d %d %d %lu %ld %lu\\t%s\\t%s\\t%s\\t%rh\\n"`);
    expect(inbound.match(/printf\(/g)).toHaveLength(2);
    // A capture within the word form needs no buf() at all.
    const small = generateProgram({ elfPath: ELF, tracepoints: ['net:inbound_message'], oneBody: true, payloadBytes: 20 }).text;
    expect(small).toContain('\\tw%lx %lx %lx\\n"');
    expect(small).not.toContain('buf(');
    expectCode(() => generateProgram({ elfPath: ELF, oneBody: true, payloadBytes: 4097 }), 'BAD_OPTION', /out of range/);
    expectCode(() => generateProgram({ elfPath: ELF, payloadBytes: 201 }), 'BAD_OPTION', /out of range/);
  });

  it('parses a one-body hit (one line) into one record with the whole payload and msg_captured', () => {
    const program = generateProgram({ elfPath: ELF, tracepoints: ['net:inbound_message'], oneBody: true });
    const parser = new BpftraceOutputParser(program);
    const bytes = Array.from({ length: 300 }, (_, k) => (k & 0xff).toString(16).padStart(2, '0'));
    const parsed = parser.push(`BTR 0 10 11 1 5000 7 300\t127.0.0.1:18444\tinbound\theaders\t${bytes.join(' ')}`);
    expect(parsed.kind).toBe('records');
    const record = (parsed as unknown as { records: { pid: number; tid: number; ns: bigint; args: Record<string, unknown> }[] }).records[0]!;
    expect(record).toMatchObject({ pid: 10, tid: 11, ns: 5000n });
    expect(record.args).toMatchObject({ peer_id: 7, peer_addr: '127.0.0.1:18444', peer_conn_type: 'inbound', msg_size: 300, msg_type: 'headers', msg_captured: 300, msg: bytes.join('') });
    expect(parser.completeHits).toBe(1);
    expect(parser.incompleteHits).toBe(0);
  });

  it('parses payload and hash words: little-endian, leading zeros left off by %lx, cut at msg_size', () => {
    const program = generateProgram({ elfPath: ELF, tracepoints: ['net:inbound_message', 'mempool:rejected'], oneBody: true });
    const parser = new BpftraceOutputParser(program);
    const parse = (line: string) => {
      const parsed = parser.push(line);
      expect(parsed.kind).toBe('records');
      return (parsed as unknown as { records: { args: Record<string, unknown> }[] }).records[0]!.args;
    };
    // Bytes 01 02 … 0b: word 0 holds 01..08 (low byte first), word 1 holds 09 0a 0b and whatever followed the message.
    expect(parse('BTR 0 10 11 1 5000 7 11\ta\tinbound\tping\tw807060504030201 ffffff0b0a09 0')).toMatchObject({ msg_size: 11, msg_captured: 11, msg: '0102030405060708090a0b' });
    expect(parse('BTR 0 10 11 1 5001 7 0\ta\tinbound\tverack\tw0 0')).toMatchObject({ msg_size: 0, msg_captured: 0, msg: '' });
    expect(wordsToHex('w1 2', Number.NaN)).toBe(''); // a size that did not parse: no bytes, no throw
    // A hash in internal order 00 01 … 1f is RPC hex 1f 1e … 00.
    const rejected = program.layouts.get('mempool:rejected')!.bodies[0]!.id;
    const internal = Array.from({ length: 32 }, (_, k) => k);
    const words = [0, 1, 2, 3].map((w) => BigInt(`0x${internal.slice(8 * w, 8 * w + 8).reverse().map((b) => b.toString(16).padStart(2, '0')).join('')}`).toString(16));
    expect(words[0]).toBe('706050403020100'); // the leading zero is left off
    const rpc = [...internal].reverse().map((b) => b.toString(16).padStart(2, '0')).join('');
    expect(parse(`BTR ${rejected} 10 11 1 5002\tw${words.join(' ')}\tbad-txns`)).toMatchObject({ txid: rpc, reason: 'bad-txns' });
  });

  it('counts records lost from the flush lines\' hit counts and bpftrace\'s Lost lines, never twice', () => {
    const program = generateProgram({ elfPath: ELF, tracepoints: ['net:inbound_message'], oneBody: true });
    expect(program.text).toContain('printf("BTFLUSH %d %d %lu\\n", cpu, pid, @hits[cpu]);');
    expect(program.text).toMatch(/; } @hits\[cpu\] = @hits\[cpu\] \+ 1; }\n/);
    const parser = new BpftraceOutputParser(program);
    const hit = (cpu: number, n: number) => parser.push(`BTR 0 10 11 ${cpu} ${5000 + n} 7 1\ta\tinbound\tping\tw1`);
    for (const n of [1, 2, 3]) hit(0, n);
    hit(1, 4);
    // CPU 0 counted 5 hits and 3 were read: 2 lost. CPU 1: all read.
    expect(parser.push('BTFLUSH 0 123 5')).toEqual({ kind: 'flush', cpu: 0, pid: 123, lost: 2 });
    expect(parser.push('BTFLUSH 1 124 1')).toEqual({ kind: 'flush', cpu: 1, pid: 124, lost: 0 });
    // bpftrace reports the same 2 later: nothing new. Then one more than the counters saw.
    expect(parser.push('Lost 2 events')).toEqual({ kind: 'lost', count: 0 });
    expect(parser.push('Lost 1 events')).toEqual({ kind: 'lost', count: 1 });
    expect(parser.push('BTFLUSH 0 125 5')).toEqual({ kind: 'flush', cpu: 0, pid: 125, lost: 0 });
    expect(parser.lostRecords).toBe(3);
    // A hit read before its count was taken (caught between printf and counter) shows no loss.
    hit(1, 5);
    expect(parser.push('BTFLUSH 1 126 1')).toEqual({ kind: 'flush', cpu: 1, pid: 126, lost: 0 });
    expect(parser.lostRecords).toBe(3);
  });

  it('reads a one-line hit whose string held a newline or a tab, and counts one it cannot split', () => {
    const program = generateProgram({ elfPath: ELF, tracepoints: ['net:inbound_message', 'mempool:rejected'], oneBody: true });
    const parser = new BpftraceOutputParser(program);
    const rejected = program.layouts.get('mempool:rejected')!.bodies[0]!.id;
    const txid = 'w706050403020100 f0e0d0c0b0a0908 1716151413121110 1f1e1d1c1b1a1918'; // internal order 00 01 … 1f
    const rpcTxid = Array.from({ length: 32 }, (_, k) => (31 - k).toString(16).padStart(2, '0')).join('');
    // mempool:rejected has one string (the reason): a tab in it is still unambiguous.
    const withTab = parser.push(`BTR ${rejected} 10 11 1 5000\t${txid}\tbad\ttx`);
    expect(withTab.kind === 'records' && withTab.records[0]!.args).toMatchObject({ reason: 'bad\ttx', txid: rpcTxid });
    // A newline ends the line early: the hit waits for its continuation.
    expect(parser.push('BTR 0 10 11 1 5001 7 1\t127.0.0.1:1')).toEqual({ kind: 'records', records: [] });
    expect(parser.incompleteHits).toBe(1);
    const continued = parser.push('8444\tinbound\tping\tw2a');
    expect(continued.kind === 'records' && continued.records[0]!.args).toMatchObject({ peer_addr: '127.0.0.1:1\n8444', msg_type: 'ping', msg: '2a' });
    // net:inbound_message has three strings: an extra field cannot be attributed.
    expect(parser.push('BTR 0 10 11 1 5002 7 1\ta\tb\tinbound\tping\tw2a').kind).toBe('other');
    // A continuation that never comes: the next protocol line closes it as incomplete.
    parser.push('BTR 0 10 11 1 5003 7 1\t127.0.0.1:1');
    expect(parser.push('BTREADY')).toEqual({ kind: 'ready' });
    expect(parser.completeHits).toBe(2);
    expect(parser.incompleteHits).toBe(2);
    // Each of those 4 lines arrived, read or not: CPU 1 counted 4 hits, so nothing was lost (the
    // continued line counts once).
    expect(parser.push('BTFLUSH 1 99 4')).toEqual({ kind: 'flush', cpu: 1, pid: 99, lost: 0 });
    expect(parser.push('BTFLUSH 1 99 5')).toEqual({ kind: 'flush', cpu: 1, pid: 99, lost: 1 });
  });

});
