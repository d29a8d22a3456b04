/**
 * The catalog checked against a binary: every probe's argument count, sizes and signedness in its
 * ELF notes compared with what tracing/catalog.ts says that Core version passes. The emitter in
 * test/emitter/ is written from the catalog, so only real binaries can catch a catalog mistake
 * (v29 passes time_established as `-8`, the catalog once said uint64): this is that check.
 */
import { catalog, expectedAt, noteTypeOf } from './catalog.js';
import type { ProbeNote } from './elf-notes.js';
import { collapseProbes } from './probe-diff.js';

export interface ProbeMismatch {
  /** provider:name */
  probe: string;
  /** "argument 6 (duration)", "argument count" or "presence". */
  argument: string;
  /** What the catalog says for this version ("-8", "7 arguments", "present"). */
  catalog: string;
  /** What the note says. */
  note: string;
}

export interface ProbeCheck {
  version: string;
  /** Catalog tracepoints compared (present in the binary or expected there). */
  checked: number;
  mismatches: ProbeMismatch[];
  /** Probes in the binary that the catalog does not know (e.g. a newer Core's): reported, not failed. */
  unknown: string[];
}

export function checkProbes(notes: readonly ProbeNote[], version: string): ProbeCheck {
  const probes = new Map(collapseProbes([...notes]).map((p) => [p.probe, p]));
  const mismatches: ProbeMismatch[] = [];
  let checked = 0;
  for (const record of catalog) {
    const expected = expectedAt(record.name, version);
    const probe = probes.get(record.name);
    if (!probe && !expected.present) continue;
    checked += 1;
    if (!probe || !expected.present) {
      mismatches.push({
        probe: record.name,
        argument: 'presence',
        catalog: expected.present ? `present since v${record.addedIn}` : `absent before v${record.addedIn}`,
        note: probe ? 'present' : 'absent',
      });
      continue;
    }
    // Every call site must agree with the catalog, not only the first.
    for (const signature of probe.disagreeing ?? [probe.signature]) {
      const got = signature.args;
      if (got.length !== expected.arguments.length) {
        mismatches.push({ probe: record.name, argument: 'argument count', catalog: `${expected.arguments.length} arguments`, note: `${got.length} arguments` });
      }
      expected.arguments.forEach(({ argument, cType }, index) => {
        const noteType = got[index];
        if (noteType === undefined) return;
        const want = noteTypeOf(cType);
        if (noteType !== want) {
          mismatches.push({ probe: record.name, argument: `argument ${index + 1} (${argument.name})`, catalog: `${want} (${cType})`, note: noteType });
        }
      });
    }
  }
  const known = new Set<string>(catalog.map((r) => r.name));
  const unknown = [...probes.keys()].filter((p) => !known.has(p));
  return { version, checked, mismatches, unknown };
}

export function formatProbeCheck(file: string, check: ProbeCheck): string {
  const lines = [`${file}: ${check.checked} catalog tracepoints checked against the layout of Core ${check.version}`];
  if (check.mismatches.length === 0) lines.push('every probe agrees with the catalog (argument count, sizes, signedness)');
  else {
    lines.push(`${check.mismatches.length} mismatch${check.mismatches.length === 1 ? '' : 'es'}:`);
    for (const m of check.mismatches) lines.push(`  ${m.probe} ${m.argument}: catalog ${m.catalog}, note ${m.note}`);
  }
  if (check.unknown.length > 0) lines.push(`not in the catalog (not checked): ${check.unknown.join(', ')}`);
  lines.push("types in sdt notation: size in bytes, '-' = signed");
  return lines.join('\n');
}
