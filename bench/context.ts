import type { BitcoindBinary } from '../harness/binary.js';

/** What every benchmark section gets from run.ts (the startup section today; bench/tracer.ts next). */
export interface BenchContext {
  binary: BitcoindBinary;
  /** Timed repetitions per figure. */
  runs: number;
  /** Progress lines (stderr), so stdout holds only the report. */
  progress(line: string): void;
}
