/**
 * Generates the bpftrace program for a set of catalog tracepoints on one ELF file (path mode:
 * every process of that binary is traced, semaphores raised through the kernel's uprobe ref_ctr).
 *
 * bpftrace ≥ 0.20 (`config = { max_strlen = … }`, strings off the stack) prints a whole hit from
 * one probe body per tracepoint, as one line (one perf record, one write):
 *   BTR <head body> <pid> <tid> <cpu> <nsecs> <integer args…>\t<part>\t<part>…
 * where the parts are the strings, hashes and payload in layout order (hashes and short payloads as
 * 64-bit words, see WORD_PAYLOAD_MAX). Fewer uprobes to attach and detach (~0.11 s each,
 * docs/sources.md "bpftrace 0.17"), payloads up to 4096 bytes, and a fifth of the records and
 * lines the per-part protocol needs (bench/tracer.ts measures the rate).
 * bpftrace 0.17 fits only one 200-byte string or buffer per probe body in the 512-byte BPF stack,
 * so there each part is its own probe body (one uprobe per part and call site), one line each:
 *   BTH <body> <pid> <tid> <n> <nsecs> <integer args…>   the head: every integer/bool argument
 *   BTP <body> <tid> <n> <value>                         one string, hash or payload
 * `n` counts hits on this thread (a per-body map), so the reader joins the parts of one hit by
 * (tid, tracepoint, n) whatever order the CPUs delivered them.
 */
import { HarnessError } from '../../harness/common/errors.js';
import type { ProbeNote } from '../elf-notes.js';
import { parseArgSpec } from '../elf-notes.js';
import type { TracepointName } from '../events.js';
import type { ArgumentCType, TracepointArgument } from '../catalog.js';
import { NET_TRACEPOINTS, argumentsFor, isTracepointName, tracepoint } from '../catalog.js';

/** bpftrace 0.17's largest str()/buf() (BPFTRACE_STRLEN cap). */
export const BPFTRACE_MAX_STRLEN = 200;
/** The payload bytes a one-body program (bpftrace ≥ 0.20) captures: `config = { max_strlen = … }`. */
export const ONE_BODY_MAX_STRLEN = 4096;
/** bpftrace 0.17 on x86_64 exposes only arg0..arg5 by name; later ones are read from the note's operand. */
const NAMED_ARGS = 6;
export const READY_MARKER = 'BTREADY';
/** Room in the hit counters for many threads over a long test run. */
const MAP_KEYS_MAX = 65536;
/**
 * `kill -0 FLUSH_PID` run pinned to a CPU makes the program write a `BTFLUSH <cpu> <pid>` line into
 * that CPU's perf ring (bpftrace 0.17; 0.23 has one ring for all CPUs): once read, everything
 * written there before has been read. On 0.17 a loss the kernel was still holding back (it reports
 * a lost count only with the next record on that CPU) is out too; on 0.23 the line's hit count
 * says it (HIT_COUNTER). The probe matches any `kill` command; the reader counts only the lines carrying the pid of
 * a kill it ran itself. Matching on the command, not on the syscall's arguments, keeps the program
 * free of kernel types, so bpftrace ≥ 0.20 can skip the kernel's BTF (tracing/bpftrace/empty-btf.ts).
 * The pid is above any possible pid_max (2^22), so the call only ever fails with ESRCH.
 */
export const FLUSH_PID = 999_999_999;
/**
 * One-body programs count their hits per CPU (`@hits[cpu]`, after the printf) and print that
 * count in each flush line: `BTFLUSH <cpu> <pid> <hits>`. bpftrace 0.23 prints its "Lost N events"
 * only when it next checks its loss counter, which can be after the flush line, so a sync() could
 * finish with a loss unread. The reader instead compares the count with the hits it has read from
 * that CPU (BTR lines carry the CPU): every earlier hit there is ahead of the flush line or lost.
 * The increment is a read and a write, so a hit preempted between them by another on the same CPU
 * can go uncounted: that hides a loss until bpftrace's own line reports it, and never invents one.
 */
const HIT_COUNTER = '@hits[cpu]';

export type BodyRole = 'head' | 'string' | 'hash' | 'payload';

/**
 * One-body mode prints hashes, and payloads up to this many bytes, as little-endian 64-bit words
 * (`w<%lx> <%lx> …`) instead of through buf(). bpftrace 0.23 formats a buf() argument byte by byte
 * and builds a std::regex for it on every hit: ~35 µs of its single thread per hit, against well
 * under 1 µs per integer (docs/sources.md, "bpftrace 0.23: formatting cost"). Most P2P messages fit
 * (version, verack, ping, inv, headers, tx); larger ones take buf(). The bound keeps the program
 * quick to compile (each word is ~1 ms of attach) and under printf's 128-argument limit.
 * The words are read from the payload's start whatever its size, so up to WORD_PAYLOAD_MAX bytes
 * past a short message's end; the reader drops them. That assumes the message's last word is
 * mapped (an 8-byte read that faults reads as zero): Core's payloads are heap buffers, followed by
 * the allocator's own header at least.
 */
export const WORD_PAYLOAD_MAX = 256;

/** One part of a one-line hit: its printf format, the values it prints, a statement run first. */
interface Part {
  format: string;
  values: (bodyId: number) => string[];
  setup?: string;
  /** A cheaper way to print this part, used when `when` holds (a payload that fits in words). */
  small?: { when: string; format: string; values: string[] };
}

/** printf format and values for `bytes` bytes at `pointer` as 64-bit words (a read past a short message's end is trimmed by the reader). */
function wordsPart(pointer: string, bytes: number): { format: string; values: string[] } {
  const count = Math.ceil(bytes / 8);
  return {
    format: `\\tw${Array(count).fill('%lx').join(' ')}`,
    values: Array.from({ length: count }, (_, k) => (k === 0 ? `*(uint64*)(${pointer})` : `*(uint64*)(${pointer} + ${8 * k})`)),
  };
}

export interface ProgramBody {
  id: number;
  tracepoint: TracepointName;
  role: BodyRole;
  /** Head: the integer arguments in print order; others: the one argument printed. */
  args: readonly TracepointArgument[];
}

export interface TracepointLayout {
  tracepoint: TracepointName;
  /** The arguments this binary's probe passes and the program reads. */
  args: readonly TracepointArgument[];
  bodies: readonly ProgramBody[];
}

export interface UnavailableArgument {
  tracepoint: TracepointName;
  argument: string;
  reason: string;
}

export interface ProgramOptions {
  /** Absolute path of the ELF file carrying the probes (bitcoind). */
  elfPath: string;
  /** Default: the 7 net tracepoints. */
  tracepoints?: readonly TracepointName[];
  /**
   * The binary's probe notes (tracing/elf-notes.ts). They give each probe's arity (v28.1's
   * mempool:replaced has 7 arguments, v29's 8) and the operands of arguments past arg5.
   * Without them every catalog argument is assumed and those past arg5 are unavailable.
   */
  probeNotes?: readonly ProbeNote[];
  /** Payload bytes captured per message: 0..200 on bpftrace 0.17, 0..4096 in one-body mode (default: the most). */
  payloadBytes?: number;
  /**
   * One probe body per tracepoint (bpftrace ≥ 0.20, see tracing/bpftrace/locate.ts); default
   * false: one body per part, which every bpftrace runs.
   */
  oneBody?: boolean;
}

export interface BpftraceProgram {
  text: string;
  /** Environment bpftrace needs for this program. */
  env: Record<string, string>;
  layouts: ReadonlyMap<TracepointName, TracepointLayout>;
  bodies: readonly ProgramBody[];
  /** Arguments the program cannot read on this binary, with why; never silently dropped. */
  unavailable: readonly UnavailableArgument[];
  /** Number of tracepoint probe blocks (BEGIN and the flush probe not counted). */
  probeCount: number;
  payloadBytes: number;
  oneBody: boolean;
}

/** Characters allowed in the ELF path: bpftrace's probe syntax has no quoting for the rest. */
const SAFE_PATH = /^\/[A-Za-z0-9._+\/-]+$/;

function badOption(message: string, fix: string): HarnessError {
  return new HarnessError('BAD_OPTION', message, { fix });
}

export function validateElfPath(elfPath: string): string {
  if (!SAFE_PATH.test(elfPath) || elfPath.includes('/../') || elfPath.endsWith('/..')) {
    throw badOption(
      `cannot trace '${elfPath}': bpftrace probe paths must be absolute and use only letters, digits and . _ + - /`,
      'pass an absolute path without spaces or special characters (symlink or copy the binary to such a path)',
    );
  }
  return elfPath;
}

/** A bpftrace cast for a C type: the value is truncated and sign-extended like Core passed it. */
function cast(cType: ArgumentCType, expr: string): { expr: string; format: string } {
  switch (cType) {
    case 'int64':
      return { expr: `(int64)${expr}`, format: '%ld' };
    case 'uint64':
      return { expr: `(uint64)${expr}`, format: '%lu' };
    case 'int32':
      return { expr: `(int32)${expr}`, format: '%ld' };
    case 'uint32':
      return { expr: `(uint32)${expr}`, format: '%lu' };
    case 'bool':
      return { expr: `(uint8)${expr}`, format: '%lu' };
    default:
      throw new Error(`not an integer C type: ${cType}`);
  }
}

const X86_REGISTERS: Record<string, string> = {};
for (const r of ['ax', 'bx', 'cx', 'dx', 'si', 'di', 'bp', 'sp']) {
  const low: Record<string, string> = { ax: 'al', bx: 'bl', cx: 'cl', dx: 'dl', si: 'sil', di: 'dil', bp: 'bpl', sp: 'spl' };
  for (const alias of [`r${r}`, `e${r}`, r, low[r]!]) X86_REGISTERS[alias] = r;
}
for (let k = 8; k <= 15; k++) for (const suffix of ['', 'd', 'w', 'b']) X86_REGISTERS[`r${k}${suffix}`] = `r${k}`;
X86_REGISTERS.rip = 'ip';

/**
 * A bpftrace expression reading an argument from its sdt operand (`%reg`, `off(%reg)`, `$imm`),
 * for arguments past arg5; undefined with the reason when the operand form is not supported.
 */
export function operandExpression(spec: string): { expr: string } | { reason: string } {
  const { operand, size } = parseArgSpec(spec);
  const register = (name: string) => X86_REGISTERS[name];
  let m = /^%([a-z0-9]+)$/.exec(operand);
  if (m && register(m[1]!)) return { expr: `reg("${register(m[1]!)}")` };
  m = /^(-?\d*)\(%([a-z0-9]+)\)$/.exec(operand);
  if (m && register(m[2]!)) {
    const offset = Number(m[1] || '0');
    const type = size === 1 ? 'uint8' : size === 2 ? 'uint16' : size === 4 ? 'uint32' : 'uint64';
    return { expr: `*(${type}*)(reg("${register(m[2]!)}") ${offset < 0 ? '-' : '+'} ${Math.abs(offset)})` };
  }
  m = /^\$(-?\d+)$/.exec(operand);
  if (m) return { expr: m[1]! };
  return { reason: `operand '${operand}' is not a form the generator reads (register, offset(register), immediate)` };
}

function argExpression(
  name: TracepointName,
  index: number,
  note: ProbeNote | undefined,
): { expr: string } | { reason: string } {
  if (index < NAMED_ARGS) return { expr: `arg${index}` };
  if (!note) return { reason: `bpftrace 0.17 names only arg0–arg5 on x86_64; pass the binary's probe notes to read arg${index} from its operand` };
  const spec = note.args[index];
  if (spec === undefined) return { reason: `${name}: the probe note has no argument ${index}` };
  return operandExpression(spec);
}

/**
 * max_strlen for a one-body program: the payload capture, or the longest string if that is longer.
 * A payload printed through buf() with a run-time length (one over WORD_PAYLOAD_MAX bytes) takes
 * max_strlen bytes in its hit's perf record whatever the message's size (strings take their own
 * literal sizes; the word form takes its words), so a smaller capture means smaller records.
 */
function oneBodyStrlen(payloadBytes: number, bodies: readonly ProgramBody[]): number {
  const strings = bodies.flatMap((b) => (b.role === 'string' ? [stringSize(b.args[0]!)] : []));
  return Math.max(payloadBytes, ...strings, 1);
}

/** The one printf of a one-body hit; with a payload that has a word form, one printf for each form. */
function oneLineStatement(parts: readonly { part: Part; id: number }[]): string {
  const printf = (small: boolean) => {
    const chosen = parts.map(({ part, id }) => (small && part.small ? part.small : { format: part.format, values: part.values(id) }));
    return `printf("${chosen.map((c) => c.format).join('')}\\n", ${chosen.flatMap((c) => c.values).join(', ')});`;
  };
  const whole = [...parts.flatMap(({ part }) => (part.setup ? [part.setup] : [])), printf(false)].join(' ');
  const small = parts.find(({ part }) => part.small)?.part.small;
  return small ? `if (${small.when}) { ${printf(true)} } else { ${whole} }` : whole;
}

/** str()'s size for a string argument (+1: it includes the NUL). */
function stringSize(arg: TracepointArgument): number {
  return Math.min((arg.maxLength ?? BPFTRACE_MAX_STRLEN - 1) + 1, BPFTRACE_MAX_STRLEN);
}

export function generateProgram(options: ProgramOptions): BpftraceProgram {
  const elfPath = validateElfPath(options.elfPath);
  const oneBody = options.oneBody ?? false;
  const maxPayload = oneBody ? ONE_BODY_MAX_STRLEN : BPFTRACE_MAX_STRLEN;
  const payloadBytes = options.payloadBytes ?? maxPayload;
  if (!Number.isInteger(payloadBytes) || payloadBytes < 0 || payloadBytes > maxPayload) {
    throw badOption(
      `payloadBytes ${payloadBytes} is out of range`,
      oneBody ? `pass an integer from 0 to ${maxPayload}` : `pass an integer from 0 to ${maxPayload} (bpftrace 0.17's buffer cap; bpftrace ≥ 0.20 takes up to ${ONE_BODY_MAX_STRLEN})`,
    );
  }
  const names = options.tracepoints ?? NET_TRACEPOINTS;
  if (names.length === 0) throw badOption('no tracepoints asked for', 'pass at least one tracepoint name, e.g. net:inbound_message');
  for (const name of names) {
    if (!isTracepointName(name)) {
      throw badOption(`'${String(name)}' is not a Bitcoin Core tracepoint`, 'use a name from tracing/catalog.ts, e.g. net:inbound_message');
    }
  }

  const lines: string[] = [
    // One-body mode: strings live off the BPF stack, so one body holds every part of a hit. The
    // config line is filled in below, once the longest string is known.
    ...(oneBody ? [''] : []),
    `BEGIN { printf("${READY_MARKER}\\n"); }`,
    oneBody
      ? `tracepoint:syscalls:sys_enter_kill /comm == "kill"/ { printf("BTFLUSH %d %d %lu\\n", cpu, pid, ${HIT_COUNTER}); }`
      : `tracepoint:syscalls:sys_enter_kill /comm == "kill"/ { printf("BTFLUSH %d %d\\n", cpu, pid); }`,
  ];
  const layouts = new Map<TracepointName, TracepointLayout>();
  const bodies: ProgramBody[] = [];
  let probeCount = 0;
  const unavailable: UnavailableArgument[] = [];

  for (const name of [...new Set(names)]) {
    const record = tracepoint(name);
    const notes = options.probeNotes?.filter((n) => `${n.provider}:${n.name}` === name);
    if (options.probeNotes && notes!.length === 0) {
      throw new HarnessError('NO_PROBES', `${elfPath} has no ${name} probe`, {
        fix: `trace only tracepoints this binary has (it may predate ${record.addedIn}), or use a bitcoind built with USDT`,
      });
    }
    const arity = notes?.[0]?.args.length ?? record.arguments.length;
    const args = argumentsFor(name, arity);
    // bpftrace resolves arg0..arg5 per call site; past those we read one operand for all sites.
    const sameOperands = (index: number) => !notes || notes.every((n) => n.args[index] === notes[0]!.args[index]);

    const probe = `usdt:${elfPath}:${record.context}:${record.event}`;
    const readable: TracepointArgument[] = [];
    const expressions = new Map<string, string>();
    args.forEach((arg, index) => {
      const found = index < NAMED_ARGS || sameOperands(index)
        ? argExpression(name, index, notes?.[0])
        : { reason: `the ${notes!.length} call sites pass arg${index} in different places` };
      if ('reason' in found) {
        unavailable.push({ tracepoint: name, argument: arg.name, reason: found.reason });
      } else {
        readable.push(arg);
        expressions.set(arg.name, found.expr);
      }
    });

    const layoutBodies: ProgramBody[] = [];
    // One-body mode: the parts are gathered into one printf (formats and values in layout order).
    const oneLine: { part: Part; id: number }[] = [];
    const addBody = (role: BodyRole, bodyArgs: TracepointArgument[], part: Part, statement: (id: number, counter: string) => string) => {
      const id = bodies.length;
      const body: ProgramBody = { id, tracepoint: name, role, args: bodyArgs };
      bodies.push(body);
      layoutBodies.push(body);
      if (oneBody) {
        oneLine.push({ part, id });
        return;
      }
      const counter = `@n${id}[tid]`;
      lines.push(`${probe} { ${counter} = ${counter} + 1; ${statement(id, counter)} }`);
    };

    const integers = readable.filter((a) => a.kind === 'int' || a.kind === 'uint' || a.kind === 'bool');
    const casts = integers.map((a) => cast(a.cType, expressions.get(a.name)!));
    const headFormat = ['BTH %lu %d %d %lu %lu', ...casts.map((c) => c.format)].join(' ');
    const head: Part = {
      format: ['BTR %lu %d %d %d %lu', ...casts.map((c) => c.format)].join(' '),
      values: (id) => [String(id), 'pid', 'tid', 'cpu', 'nsecs', ...casts.map((c) => c.expr)],
    };
    addBody('head', integers, head, (id, counter) =>
      `printf("${headFormat}\\n", ${[String(id), 'pid', 'tid', counter, 'nsecs', ...casts.map((c) => c.expr)].join(', ')});`,
    );
    for (const a of readable) {
      const expr = expressions.get(a.name)!;
      if (a.kind === 'string') {
        const size = stringSize(a);
        addBody('string', [a], { format: '\\t%s', values: () => [`str(${expr}, ${size})`] }, (id, counter) =>
          `printf("BTP %lu %d %lu %s\\n", ${id}, tid, ${counter}, str(${expr}, ${size}));`);
      } else if (a.kind === 'hash32') {
        const words = wordsPart(expr, 32);
        addBody('hash', [a], { format: words.format, values: () => words.values }, (id, counter) =>
          `printf("BTP %lu %d %lu %rh\\n", ${id}, tid, ${counter}, buf(${expr}, 32));`);
      } else if (a.kind === 'bytes' && payloadBytes > 0) {
        const lengthExpr = a.lengthFrom ? expressions.get(a.lengthFrom) : undefined;
        if (!lengthExpr) {
          unavailable.push({ tracepoint: name, argument: a.name, reason: 'its length argument is not readable' });
          continue;
        }
        const capped = `$len = ${lengthExpr} > ${payloadBytes} ? ${payloadBytes} : ${lengthExpr};`;
        const words = wordsPart(expr, Math.min(payloadBytes, WORD_PAYLOAD_MAX));
        const part: Part =
          payloadBytes <= WORD_PAYLOAD_MAX
            ? { format: words.format, values: () => words.values }
            : { setup: capped, format: '\\t%rh', values: () => ['buf(' + expr + ', $len)'], small: { when: `${lengthExpr} <= ${WORD_PAYLOAD_MAX}`, ...words } };
        addBody('payload', [a], part, (id, counter) =>
          `${capped} printf("BTP %lu %d %lu %rh\\n", ${id}, tid, ${counter}, buf(${expr}, $len));`,
        );
      }
    }
    if (oneBody) {
      // Counted after the printf: a hit caught between the two is read but not yet counted, never the reverse.
      lines.push(`${probe} { ${oneLineStatement(oneLine)} ${HIT_COUNTER} = ${HIT_COUNTER} + 1; }`);
      probeCount += 1;
    } else {
      probeCount += layoutBodies.length;
    }
    layouts.set(name, { tracepoint: name, args: readable, bodies: layoutBodies });
  }

  if (oneBody) lines[0] = `config = { max_strlen = ${oneBodyStrlen(payloadBytes, bodies)} }`;
  return {
    text: lines.join('\n') + '\n',
    // One-body mode says it in its config block (bpftrace ≥ 0.20 renamed these variables).
    env: oneBody
      ? {}
      : {
          BPFTRACE_STRLEN: String(BPFTRACE_MAX_STRLEN),
          // The same on a newer bpftrace given this program (it renamed the variable).
          BPFTRACE_MAX_STRLEN: String(BPFTRACE_MAX_STRLEN),
          // One counter per (thread, body): room for many threads over a long test run.
          BPFTRACE_MAP_KEYS_MAX: String(MAP_KEYS_MAX),
        },
    layouts,
    bodies,
    unavailable,
    probeCount,
    payloadBytes,
    oneBody,
  };
}
