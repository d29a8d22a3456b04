/** The suite's result, as the CLI's --json prints it (issue 7's contract, plus a few extra fields). */
import type { TracepointName } from '../../tracing/events.js';

export interface TracepointConformance {
  name: TracepointName;
  /** The binary carries the probe. */
  present: boolean;
  /** The catalog says this version carries it. */
  expected: boolean;
  /** Events traced during the run. */
  fired: number;
  /** The cell is what the catalog expects: fired with every check held, or absent where expected absent. */
  ok: boolean;
  /** Each names the argument, the expected value and the value received. */
  problems: string[];
  /** Arguments this version's probe passes (checked when it fired): mempool:replaced 7 before v29, 8 after. */
  arguments: number;
}

export interface BinaryConformance {
  path: string;
  version: string;
  versionLine: string;
  /** Wall time of the suite on this binary. */
  seconds: number;
  /** 20 entries, in catalog order. */
  tracepoints: TracepointConformance[];
  /** Why the run stopped early, when it did (the cells say what was still checked). */
  error?: string;
}

export interface ConformanceReport {
  binaries: BinaryConformance[];
}
