/**
 * The conformance suite on every shared Core build, one describe per version (npm run test:matrix).
 * What each version must show comes from the catalog, not from this file: a tracepoint the
 * catalog gives that version fires with every argument right, the others are absent.
 */
import { describe, expect, it } from 'vitest';
import { buildSkipReason, coreBuilds } from '../helpers/core-builds.js';
import { conformanceSkipReason, unexpectedCells } from '../helpers/conformance.js';
import { runConformance } from '../../harness/conformance/run.js';
import { catalog } from '../../tracing/catalog.js';

const skip = conformanceSkipReason();

describe.skipIf(skip !== false)(`conformance per Core version${skip ? ` (skipped: ${skip})` : ''}`, () => {
  for (const build of coreBuilds()) {
    const unusable = buildSkipReason(build);
    describe(build.tag, () => {
      it.skipIf(unusable !== false)(`every cell is what the catalog expects for this version${unusable ? ` (skipped: ${unusable})` : ''}`, { timeout: 180_000 }, async () => {
        const report = await runConformance([build.bitcoind]);
        const [binary] = report.binaries;
        expect(binary!.error).toBeUndefined();
        expect(binary!.tracepoints).toHaveLength(catalog.length);
        expect(unexpectedCells(binary!)).toEqual([]);
      });
    });
  }
});
