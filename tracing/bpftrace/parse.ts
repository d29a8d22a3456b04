/**
 * Turns the generated program's output lines back into one raw record per tracepoint hit:
 * joins the hit's bodies (see program.ts), decodes each argument as the catalog says, and counts
 * what bpftrace reports lost and what could not be completed.
 */
import type { TracepointArgsMap, TracepointName } from '../events.js';
import type { TracepointArgument } from '../catalog.js';
import type { BpftraceProgram, ProgramBody } from './program.js';
import { READY_MARKER } from './program.js';

export interface RawRecord<N extends TracepointName = TracepointName> {
  pid: number;
  tid: number;
  /** bpftrace `nsecs`: CLOCK_MONOTONIC, the clock of process.hrtime.bigint(). */
  ns: bigint;
  tracepoint: N;
  args: TracepointArgsMap[N];
}

export type ParsedLine =
  | { kind: 'ready' }
  | { kind: 'records'; records: RawRecord[] }
  | { kind: 'lost'; count: number }
  /**
   * `pid`: the kill command that asked for it (program.ts, FLUSH_PID). `lost`: records this line
   * showed lost that no earlier line had (one-body programs count their hits, program.ts HIT_COUNTER).
   */
  | { kind: 'flush'; cpu: number; pid: number; lost: number }
  | { kind: 'other'; line: string };

interface PartialHit {
  head?: { pid: number; ns: bigint; values: string[] };
  parts: Map<number, string>;
  /** Index of the last string part, for a string that contained a newline. */
  lastStringBody?: number;
}

const LOST = /^Lost (\d+) events$/;

/** A line the program or bpftrace itself writes, never the continuation of a string. */
function isProtocolLine(line: string): boolean {
  return line.startsWith('BT') || LOST.test(line.trim());
}

/** Bytes as %rh prints them ("0a 1b …") → "0a1b…"; by character pairs, four times faster than replaceAll on a 250-byte payload. */
export function compactHex(spaced: string): string {
  const text = spaced.trim();
  if ((text.length + 1) % 3 !== 0) return text.replaceAll(' ', ''); // not the usual spacing (or empty)
  const out = Buffer.allocUnsafe(((text.length + 1) / 3) * 2);
  for (let from = 0, to = 0; to < out.length; from += 3, to += 2) {
    out[to] = text.charCodeAt(from);
    out[to + 1] = text.charCodeAt(from + 1);
  }
  return out.toString('latin1');
}

/** Hash bytes as printed (%rh, internal order; or as 4 words) → RPC hex (reversed). */
export function hashToRpcHex(printed: string): string {
  // Words are little-endian, so the last word, printed big-endian, starts the reversed bytes.
  if (printed.startsWith('w')) return printed.slice(1).split(' ').reverse().map((word) => word.padStart(16, '0')).join('');
  return printed.trim().split(' ').filter(Boolean).reverse().join('');
}

/**
 * Little-endian 64-bit words as `%lx` prints them ("w<word> <word> …", program.ts WORD_PAYLOAD_MAX)
 * → their first `bytes` bytes as hex. Each word's low byte is its last two digits.
 */
export function wordsToHex(printed: string, bytes: number): string {
  const words = printed.slice(1).split(' ');
  // A size that did not parse takes nothing rather than throwing in the middle of the stream.
  const take = Number.isInteger(bytes) && bytes > 0 ? Math.min(bytes, words.length * 8) : 0;
  const out = Buffer.allocUnsafe(take * 2);
  for (let byte = 0; byte < take; byte++) {
    const word = words[byte >> 3]!;
    // Digits of byte k of a word: at 14 - 2k from the left of its 16-digit form ('0' where %lx left them off).
    const at = word.length - 2 - 2 * (byte & 7);
    out[2 * byte] = at >= 0 ? word.charCodeAt(at) : 48;
    out[2 * byte + 1] = at + 1 >= 0 ? word.charCodeAt(at + 1) : 48;
  }
  return out.toString('latin1');
}

function decodeInteger(arg: TracepointArgument, text: string): number | boolean {
  if (arg.kind === 'bool') return text !== '0';
  // int64/uint64 beyond 2^53 lose precision as number; Core's values (ids, sizes, fees) do not get there.
  return Number(text);
}

export class BpftraceOutputParser {
  private readonly bodies: ReadonlyMap<number, ProgramBody>;
  private readonly partial = new Map<string, PartialHit>();
  private lastPartKey: string | undefined;
  /** Records bpftrace itself reported lost ("Lost N events"). */
  private reportedLost = 0;
  /** One-body hits read, per CPU, and those the CPU's hit counter showed lost (program.ts HIT_COUNTER). */
  private readonly readOnCpu = new Map<number, number>();
  private readonly countedLostOnCpu = new Map<number, number>();
  private countedLost = 0;
  /** Body lines received. */
  receivedRecords = 0;
  /** Hits received whole. */
  completeHits = 0;

  /** Per tracepoint, the bodies after the head: the parts, in layout order. */
  private readonly partsOf: ReadonlyMap<TracepointName, readonly ProgramBody[]>;

  constructor(private readonly program: BpftraceProgram) {
    this.bodies = new Map(program.bodies.map((b) => [b.id, b]));
    this.partsOf = new Map([...program.layouts].map(([name, layout]) => [name, layout.bodies.slice(1)]));
  }

  /** A one-line hit still missing fields: a string held a newline, so its line continues. */
  private openLine: string | undefined;
  /** One-line hits that could not be split into their fields (a string held a tab). */
  private unsplittable = 0;

  /**
   * Records lost: what bpftrace reported, or what the hit counters showed, whichever is more. Both
   * count the same losses, seen at different times; neither can count one that did not happen.
   */
  get lostRecords(): number {
    return Math.max(this.reportedLost, this.countedLost);
  }

  /** Parse one stdout line (without its newline). */
  push(line: string): ParsedLine {
    if (this.openLine !== undefined) {
      if (!isProtocolLine(line)) return this.oneLine(`${this.openLine}\n${line}`);
      this.openLine = undefined; // never completed: counted in incompleteHits
      this.unsplittable += 1;
    }
    if (line.startsWith('BTR ')) return this.oneLine(line);
    if (line.startsWith('BTH ')) return this.head(line);
    if (line.startsWith('BTP ')) return this.part(line);
    if (line === READY_MARKER) return { kind: 'ready' };
    if (line.startsWith('BTFLUSH ')) {
      const [cpu, pid, hits] = line.slice(8).split(' ').map(Number);
      return { kind: 'flush', cpu: cpu!, pid: pid ?? 0, lost: hits === undefined ? 0 : this.countLost(cpu!, hits) };
    }
    const lost = LOST.exec(line.trim());
    if (lost) {
      const before = this.lostRecords;
      this.reportedLost += Number(lost[1]);
      return { kind: 'lost', count: this.lostRecords - before };
    }
    // A string argument with a newline in it continues on the next line.
    if (this.lastPartKey !== undefined) {
      const hit = this.partial.get(this.lastPartKey);
      if (hit?.lastStringBody !== undefined) {
        hit.parts.set(hit.lastStringBody, `${hit.parts.get(hit.lastStringBody)}\n${line}`);
        return { kind: 'records', records: [] };
      }
    }
    return { kind: 'other', line };
  }

  /**
   * A flush line's hit count for its CPU: every hit counted there before it was either read
   * already or lost. Returns how many more records that shows lost than known before.
   */
  private countLost(cpu: number, hits: number): number {
    const lostHere = hits - (this.readOnCpu.get(cpu) ?? 0);
    const known = this.countedLostOnCpu.get(cpu) ?? 0;
    if (!(lostHere > known)) return 0;
    const before = this.lostRecords;
    this.countedLostOnCpu.set(cpu, lostHere);
    this.countedLost += lostHere - known;
    return this.lostRecords - before;
  }

  /** Hits still missing bodies: lost (when bpftrace reported loss) or not yet read. */
  get incompleteHits(): number {
    return this.partial.size + this.unsplittable + (this.openLine === undefined ? 0 : 1);
  }

  /**
   * `BTR <head body> <pid> <tid> <cpu> <nsecs> <ints…>\t<part>…`: a whole hit (program.ts). A string
   * with a newline shows as a line with too few fields, completed by the next; only a newline in
   * the last part cannot be told apart (what follows it is an 'other' line, kept for diagnostics).
   * Core's strings (addresses, types, reasons) hold neither newlines nor tabs.
   */
  private oneLine(line: string): ParsedLine {
    const fields = line.split('\t');
    const headFields = fields[0]!.split(' ');
    const body = this.bodies.get(Number(headFields[1]));
    if (!body || body.role !== 'head' || headFields.length < 6) return { kind: 'other', line };
    if (this.openLine === undefined) {
      const cpu = Number(headFields[4]);
      this.readOnCpu.set(cpu, (this.readOnCpu.get(cpu) ?? 0) + 1);
    }
    const parts = this.partsOf.get(body.tracepoint)!;
    if (fields.length - 1 < parts.length) {
      this.openLine = line;
      return { kind: 'records', records: [] };
    }
    this.openLine = undefined;
    let values = fields.slice(1);
    if (values.length > parts.length) {
      // A tab inside a string: only a hit with a single string part can still be read unambiguously.
      const strings = parts.filter((p) => p.role === 'string');
      if (strings.length !== 1) {
        this.unsplittable += 1;
        return { kind: 'other', line };
      }
      const at = parts.indexOf(strings[0]!);
      const extra = values.length - parts.length;
      values = [...values.slice(0, at), values.slice(at, at + extra + 1).join('\t'), ...values.slice(at + extra + 1)];
    }
    this.receivedRecords++;
    this.completeHits++;
    const [, , pid, tid, , ns, ...integers] = headFields;
    return { kind: 'records', records: [this.decode(body.tracepoint, Number(tid), Number(pid), BigInt(ns!), integers, values)] };
  }

  private key(body: ProgramBody, tid: string, n: string): string {
    return `${tid}:${body.tracepoint}:${n}`;
  }

  private hit(key: string): PartialHit {
    let hit = this.partial.get(key);
    if (!hit) this.partial.set(key, (hit = { parts: new Map() }));
    return hit;
  }

  private head(line: string): ParsedLine {
    const [, id, pid, tid, n, ns, ...values] = line.split(' ');
    const body = this.bodies.get(Number(id));
    if (!body || body.role !== 'head' || n === undefined || ns === undefined || tid === undefined) return { kind: 'other', line };
    this.receivedRecords++;
    const key = this.key(body, tid, n);
    this.hit(key).head = { pid: Number(pid), ns: BigInt(ns), values };
    this.lastPartKey = undefined;
    return this.completeIfWhole(key, body.tracepoint, Number(tid));
  }

  private part(line: string): ParsedLine {
    // The value is the rest of the line (strings may hold spaces).
    const match = /^BTP (\d+) (\d+) (\d+) ?(.*)$/s.exec(line);
    const body = match ? this.bodies.get(Number(match[1])) : undefined;
    if (!match || !body || body.role === 'head') return { kind: 'other', line };
    this.receivedRecords++;
    const key = this.key(body, match[2]!, match[3]!);
    const hit = this.hit(key);
    hit.parts.set(body.id, match[4]!);
    hit.lastStringBody = body.role === 'string' ? body.id : undefined;
    this.lastPartKey = key;
    return this.completeIfWhole(key, body.tracepoint, Number(match[2]));
  }

  private completeIfWhole(key: string, name: TracepointName, tid: number): ParsedLine {
    const hit = this.partial.get(key)!;
    const layout = this.program.layouts.get(name)!;
    const parts = layout.bodies.length - 1;
    if (!hit.head || hit.parts.size < parts) return { kind: 'records', records: [] };
    // A string that ends the hit may still continue on the next line; strings are the rarely-newlined case,
    // and Core's strings (addresses, types, reasons) never hold newlines, so we accept it here.
    this.partial.delete(key);
    if (this.lastPartKey === key) this.lastPartKey = undefined;
    this.completeHits++;
    const texts = this.partsOf.get(name)!.map((body) => hit.parts.get(body.id) ?? '');
    return { kind: 'records', records: [this.decode(name, tid, hit.head.pid, hit.head.ns, hit.head.values, texts)] };
  }

  /** One hit's record from its integer fields and its parts' texts (layout order). */
  private decode(name: TracepointName, tid: number, pid: number, ns: bigint, integers: readonly string[], texts: readonly string[]): RawRecord {
    const layout = this.program.layouts.get(name)!;
    const args: Record<string, unknown> = {};
    const head = layout.bodies[0]!;
    for (let k = 0; k < head.args.length; k++) args[head.args[k]!.name] = decodeInteger(head.args[k]!, integers[k] ?? '');
    const parts = this.partsOf.get(name)!;
    for (let k = 0; k < parts.length; k++) {
      const body = parts[k]!;
      const arg = body.args[0]!;
      const text = texts[k] ?? '';
      if (body.role === 'string') args[arg.name] = text;
      else if (body.role === 'hash') args[arg.name] = hashToRpcHex(text);
      else {
        // The word form always prints whole words: the message's own size says where it ends.
        const size = arg.lengthFrom === undefined ? 0 : Number(args[arg.lengthFrom]);
        const hex = text.startsWith('w') ? wordsToHex(text, Math.min(size, this.program.payloadBytes)) : compactHex(text);
        args[arg.name] = hex;
        args.msg_captured = hex.length / 2;
      }
    }
    return { pid, tid, ns, tracepoint: name, args: args as unknown as TracepointArgsMap[typeof name] };
  }

  /** Drop what can no longer complete (after the session ended); returns how many hits were dropped. */
  discardIncomplete(): number {
    const dropped = this.partial.size;
    this.partial.clear();
    this.lastPartKey = undefined;
    return dropped;
  }
}
