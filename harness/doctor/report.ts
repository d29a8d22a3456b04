/** The doctor's two outputs: one line per check for people, one JSON object for scripts. */
import type { CheckResult } from './check.js';
import type { TracerDecision } from './tracer-decision.js';

export interface DoctorJson {
  checks: Array<Pick<CheckResult, 'id' | 'status' | 'detail' | 'fix'>>;
  tracer: TracerDecision;
}

export function doctorJson(checks: readonly CheckResult[], tracer: TracerDecision): DoctorJson {
  // Fixed key order: the shape is a documented contract.
  return { checks: checks.map(({ id, status, detail, fix }) => ({ id, status, detail, fix })), tracer: { auto: tracer.auto, reason: tracer.reason } };
}

/** `status  id  detail — fix: …` per check, then the tracer line. */
export function formatDoctorReport(checks: readonly CheckResult[], tracer: TracerDecision): string {
  const idWidth = Math.max(...checks.map((c) => c.id.length));
  const lines = checks.map((c) => {
    const fix = c.fix === null ? '' : ` — fix: ${c.fix}`;
    return `${c.status.padEnd(7)}  ${c.id.padEnd(idWidth)}  ${c.detail}${fix}`;
  });
  lines.push(`${'tracer'.padEnd(7)}  ${'auto'.padEnd(idWidth)}  --tracer auto would use ${tracer.auto}: ${tracer.reason}`);
  return lines.join('\n');
}
