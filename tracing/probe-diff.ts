/**
 * Compares the tracepoints of two binaries (say Core v28.1 and v29.0): which probes appeared,
 * which vanished, and which changed their argument list or semaphore. Operands (registers,
 * stack slots) differ with every build and are ignored; count, size and signedness are the
 * contract a tracer script depends on.
 */
import { parseArgSpec, type ProbeNote } from './elf-notes.js';

/** A probe's contract as a tracer sees it: argument types in sdt notation ("-8" = signed 8 bytes). */
export interface ProbeSignature {
  semaphore: boolean;
  /** One entry per argument: '-' for signed, then size in bytes, 'f' for floating point. */
  args: string[];
}

/** All notes of one provider:name collapsed into one probe. */
export interface CollapsedProbe {
  probe: string;
  /** Notes (call sites) for this probe; inlined code gives several. */
  sites: number;
  /** The first site's signature: the one diffs compare. */
  signature: ProbeSignature;
  /** Distinct signatures across sites when they disagree, else absent. */
  disagreeing?: ProbeSignature[];
}

export interface ProbeChange {
  probe: string;
  /** Human-readable, one per change: "argument count 7 → 8", "argument 2 size 4 → 8 bytes", "semaphore gained". */
  changes: string[];
  a: ProbeSignature;
  b: ProbeSignature;
}

export interface ProbeDiff {
  added: CollapsedProbe[];
  removed: CollapsedProbe[];
  changed: ProbeChange[];
  /** Probes present in both without changes. */
  unchanged: string[];
  /** Probes whose call sites disagree on their signature, per side. */
  inconsistent: { side: 'a' | 'b'; probe: CollapsedProbe }[];
}

function argType(spec: string): string {
  const arg = parseArgSpec(spec);
  return `${arg.signed ? '-' : ''}${arg.size}${arg.float ? 'f' : ''}`;
}

function signatureOf(note: ProbeNote): ProbeSignature {
  return { semaphore: note.semaphore !== null, args: note.args.map(argType) };
}

/** Inverse of argType: "-8" → signed, 8 bytes. */
function typeParts(type: string): { signed: boolean; size: number; float: boolean } {
  return { signed: type.startsWith('-'), size: Number.parseInt(type.replace('-', ''), 10), float: type.endsWith('f') };
}

const sameSignature = (x: ProbeSignature, y: ProbeSignature) => x.semaphore === y.semaphore && x.args.join(' ') === y.args.join(' ');

/** Collapse notes to one entry per provider:name, in first-note order. */
export function collapseProbes(notes: ProbeNote[]): CollapsedProbe[] {
  const byKey = new Map<string, { probe: CollapsedProbe; signatures: ProbeSignature[] }>();
  for (const note of notes) {
    const key = `${note.provider}:${note.name}`;
    const signature = signatureOf(note);
    const entry = byKey.get(key);
    if (!entry) {
      byKey.set(key, { probe: { probe: key, sites: 1, signature }, signatures: [signature] });
      continue;
    }
    entry.probe.sites += 1;
    if (!entry.signatures.some((s) => sameSignature(s, signature))) entry.signatures.push(signature);
  }
  return [...byKey.values()].map(({ probe, signatures }) => (signatures.length > 1 ? { ...probe, disagreeing: signatures } : probe));
}

function describeChanges(a: ProbeSignature, b: ProbeSignature): string[] {
  const changes: string[] = [];
  if (a.args.length !== b.args.length) changes.push(`argument count ${a.args.length} → ${b.args.length}`);
  const shared = Math.min(a.args.length, b.args.length);
  for (let i = 0; i < shared; i += 1) {
    const before = typeParts(a.args[i] ?? '');
    const after = typeParts(b.args[i] ?? '');
    if (before.size !== after.size) changes.push(`argument ${i + 1} size ${before.size} → ${after.size} bytes`);
    if (before.signed !== after.signed) changes.push(`argument ${i + 1} ${before.signed ? 'signed' : 'unsigned'} → ${after.signed ? 'signed' : 'unsigned'}`);
    if (before.float !== after.float) changes.push(`argument ${i + 1} ${before.float ? 'floating' : 'integer'} → ${after.float ? 'floating' : 'integer'}`);
  }
  if (a.semaphore !== b.semaphore) changes.push(b.semaphore ? 'semaphore gained' : 'semaphore lost');
  return changes;
}

/** What changed from binary a to binary b, keyed by provider:name. */
export function diffProbes(a: ProbeNote[], b: ProbeNote[]): ProbeDiff {
  const before = collapseProbes(a);
  const after = collapseProbes(b);
  const beforeByKey = new Map(before.map((p) => [p.probe, p]));
  const afterByKey = new Map(after.map((p) => [p.probe, p]));
  const diff: ProbeDiff = { added: [], removed: [], changed: [], unchanged: [], inconsistent: [] };
  for (const probe of before) {
    const counterpart = afterByKey.get(probe.probe);
    if (!counterpart) {
      diff.removed.push(probe);
      continue;
    }
    const changes = describeChanges(probe.signature, counterpart.signature);
    if (changes.length === 0) diff.unchanged.push(probe.probe);
    else diff.changed.push({ probe: probe.probe, changes, a: probe.signature, b: counterpart.signature });
  }
  diff.added = after.filter((p) => !beforeByKey.has(p.probe));
  for (const probe of before) if (probe.disagreeing) diff.inconsistent.push({ side: 'a', probe });
  for (const probe of after) if (probe.disagreeing) diff.inconsistent.push({ side: 'b', probe });
  return diff;
}

/** The JSON contract of `probes --diff --json` (documented in the command's --help). */
export interface ProbeDiffJson {
  a: string;
  b: string;
  summary: { a: number; b: number; added: number; removed: number; changed: number; unchanged: number };
  added: CollapsedProbe[];
  removed: CollapsedProbe[];
  changed: ProbeChange[];
  inconsistent: { side: 'a' | 'b'; probe: string; signatures: ProbeSignature[] }[];
}

export function probeDiffJson(diff: ProbeDiff, aPath: string, bPath: string): ProbeDiffJson {
  const aCount = diff.removed.length + diff.changed.length + diff.unchanged.length;
  return {
    a: aPath,
    b: bPath,
    summary: {
      a: aCount,
      b: aCount - diff.removed.length + diff.added.length,
      added: diff.added.length,
      removed: diff.removed.length,
      changed: diff.changed.length,
      unchanged: diff.unchanged.length,
    },
    added: diff.added,
    removed: diff.removed,
    changed: diff.changed,
    inconsistent: diff.inconsistent.map(({ side, probe }) => ({ side, probe: probe.probe, signatures: probe.disagreeing ?? [probe.signature] })),
  };
}

export function formatSignature(signature: ProbeSignature): string {
  const count = signature.args.length;
  const args = count === 0 ? 'no args' : `${count} arg${count === 1 ? '' : 's'} (${signature.args.join(' ')})`;
  return `${args}${signature.semaphore ? ', semaphore' : ''}`;
}

/** Human report: one section per kind of difference, probes in note order. */
export function formatProbeDiff(diff: ProbeDiff, aPath: string, bPath: string): string {
  const lines = [`probe diff  a: ${aPath}`, `            b: ${bPath}`, ''];
  const section = (title: string, items: string[]) => {
    lines.push(`${title} (${items.length})`);
    for (const item of items) lines.push(`  ${item}`);
  };
  section('added in b', diff.added.map((p) => `+ ${p.probe}  ${formatSignature(p.signature)}`));
  section('removed from a', diff.removed.map((p) => `- ${p.probe}  ${formatSignature(p.signature)}`));
  section('changed', diff.changed.map((c) => `~ ${c.probe}: ${c.changes.join('; ')}`));
  lines.push(`unchanged (${diff.unchanged.length})`);
  if (diff.inconsistent.length > 0) {
    section(
      'warning: call sites disagree',
      diff.inconsistent.map(({ side, probe }) => `! ${side}: ${probe.probe} has ${probe.sites} sites with ${(probe.disagreeing ?? []).map(formatSignature).join(' | ')}`),
    );
  }
  if (diff.added.length + diff.removed.length + diff.changed.length === 0) lines.push('', 'no differences in probe names, arguments or semaphores');
  lines.push('', "argument types: size in bytes, '-' = signed, 'f' = floating point");
  return lines.join('\n');
}
