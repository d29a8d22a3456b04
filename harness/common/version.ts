/**
 * One place for "is this bitcoind at least version X": behaviour that differs by version (the
 * whitelist's in/out directions in v28, getpeerinfo's transport field and `sendmsgtopeer` in v26,
 * the net connection tracepoints in v29) asks here instead of parsing versions at each call site.
 */

/** A dotted version ("29.0.0", "28.1", "29.4.3") as numbers; anything after the numbers (rc3, .knots…) is ignored. */
export function parseVersion(version: string): number[] {
  const match = /^v?(\d+(?:\.\d+)*)/.exec(version.trim());
  if (!match) throw new Error(`not a version: '${version}'`);
  return match[1]!.split('.').map(Number);
}

/** Negative, zero or positive as `a` is older, the same as or newer than `b` (missing parts count as 0). */
export function compareVersions(a: string, b: string): number {
  const x = parseVersion(a);
  const y = parseVersion(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Whether `version` (or a binary's `.version`) is `minimum` or newer: `versionAtLeast(binary, '28.0')`. */
export function versionAtLeast(subject: string | { version: string }, minimum: string): boolean {
  return compareVersions(typeof subject === 'string' ? subject : subject.version, minimum) >= 0;
}
