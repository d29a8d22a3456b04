import type { BitcoindBinary } from '../harness/binary.js';

/** What every benchmark section gets from run.ts. */
export interface BenchContext {
  /** Timed repetitions per figure. */
  runs: number;
  /** --quick: each section keeps to a few seconds (fewer rates, shorter runs). */
  quick: boolean;
  /** Progress lines (stderr), so stdout holds only the report. */
  progress(line: string): void;
}

/** The startup section also needs the bitcoind it times (the tracer section runs on the emitter). */
export interface StartupContext extends BenchContext {
  binary: BitcoindBinary;
}
