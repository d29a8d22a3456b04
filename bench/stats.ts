/** Summary statistics for a handful of timed runs (R is small, so: median and range, no means). */

export interface Summary {
  runs: number;
  median: number;
  min: number;
  max: number;
}

/** Median of the samples; with an even count, the mean of the middle two. */
export function median(samples: readonly number[]): number {
  if (samples.length === 0) throw new Error('median of no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function summarize(samples: readonly number[]): Summary {
  return { runs: samples.length, median: median(samples), min: Math.min(...samples), max: Math.max(...samples) };
}

/** harness / baseline; undefined when either side is missing. */
export function ratio(harness: Summary | undefined, baseline: Summary | undefined): number | undefined {
  if (!harness || !baseline || baseline.median === 0) return undefined;
  return harness.median / baseline.median;
}

/** Milliseconds elapsed since `startNs` (a process.hrtime.bigint() reading). */
export function msSince(startNs: bigint): number {
  return Number(process.hrtime.bigint() - startNs) / 1e6;
}
