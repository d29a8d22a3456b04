/**
 * The conformance suite on the newest shared Core build (npm test): every tracepoint the build
 * carries fires on real nodes and every argument matches its truth; absent ones are absent as
 * the catalog expects. test/matrix/conformance.test.ts runs it on every build. Builds altered after
 * they were built (int3 at probe sites) are not usable as ground truth (test/helpers/core-builds.ts).
 */
import { describe, expect, it } from 'vitest';
import { newestCoreBuild } from './helpers/core-builds.js';
import { conformanceSkipReason, unexpectedCells } from './helpers/conformance.js';
import { runConformance } from '../harness/conformance/run.js';
import { conformanceJson } from '../harness/conformance/report.js';
import { catalog, expectedAt } from '../tracing/catalog.js';

const skip = conformanceSkipReason();
const build = newestCoreBuild();

describe.skipIf(skip !== false)(`conformance on the newest Core build${skip ? ` (skipped: ${skip})` : ` (${build?.tag})`}`, () => {
  it('every cell is what the catalog expects, with every argument compared', { timeout: 180_000 }, async () => {
    const report = await runConformance([build!.bitcoind]);
    const [binary] = report.binaries;
    expect(binary!.error).toBeUndefined();
    expect(binary!.tracepoints.map((t) => t.name)).toEqual(catalog.map((r) => r.name));
    expect(unexpectedCells(binary!)).toEqual([]);
    for (const t of binary!.tracepoints) {
      const expected = expectedAt(t.name, binary!.version);
      expect(t.expected, t.name).toBe(expected.present);
      expect(t.arguments, t.name).toBe(expected.arguments.length);
      if (t.expected && t.problems.length === 0) expect(t.fired, t.name).toBeGreaterThan(0);
    }
    // The --json contract: exactly these keys per entry.
    const json = conformanceJson(report) as { binaries: { tracepoints: Record<string, unknown>[] }[] };
    expect(Object.keys(json.binaries[0]!.tracepoints[0]!)).toEqual(['name', 'present', 'expected', 'fired', 'ok', 'problems']);
  });
});
