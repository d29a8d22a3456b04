/** Relative times as people read them: milliseconds with µs precision. */

export function formatRelativeMs(tUs: number, originUs: number): string {
  const ms = (tUs - originUs) / 1000;
  return `${ms < 0 ? '-' : '+'}${Math.abs(ms).toFixed(3)} ms`;
}
