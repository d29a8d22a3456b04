/**
 * One error class per cause a user can fix. Every error names the cause, the fix,
 * and where the evidence is, so the CLI can print one line and tests can match on `code`.
 */
export type HarnessErrorCode =
  | 'BINARY_NOT_FOUND'
  | 'BINARY_NOT_EXECUTABLE'
  | 'NOT_BITCOIND'
  | 'NO_PROBES'
  | 'TRACER_PERMISSION'
  | 'TRACER_FAILED'
  | 'TRACE_EVENTS_LOST'
  | 'PORT_IN_USE'
  | 'BAD_TOPOLOGY'
  | 'BAD_OPTION'
  | 'DATADIR_UNWRITABLE'
  | 'NODE_CRASHED'
  | 'NODE_TIMEOUT'
  | 'RPC_FAILED'
  | 'PROVISION_FAILED'
  | 'CHECKSUM_MISMATCH'
  | 'UNKNOWN_SCENARIO'
  | 'NOT_APPLICABLE'
  | 'USAGE'
  | 'TIMEOUT'
  | 'PEER_DISCONNECTED';

export interface HarnessErrorDetails {
  /** What the user can do about it, as one imperative sentence. */
  fix: string;
  /** Extra material (a log tail, tracer stderr) that explains the failure. */
  evidence?: string;
  cause?: unknown;
}

export class HarnessError extends Error {
  readonly code: HarnessErrorCode;
  readonly fix: string;
  readonly evidence: string | undefined;

  constructor(code: HarnessErrorCode, message: string, details: HarnessErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'HarnessError';
    this.code = code;
    this.fix = details.fix;
    this.evidence = details.evidence;
  }

  /** The one line the CLI prints: cause, then fix. */
  get oneLine(): string {
    return `${this.message} — ${this.fix}`;
  }

  /** The full report: the one line plus the evidence, indented. */
  override toString(): string {
    if (!this.evidence) return `${this.name} [${this.code}]: ${this.oneLine}`;
    const indented = this.evidence.trimEnd().split('\n').map((l) => `    ${l}`).join('\n');
    return `${this.name} [${this.code}]: ${this.oneLine}\n${indented}`;
  }
}

export function isHarnessError(error: unknown, code?: HarnessErrorCode): error is HarnessError {
  return error instanceof HarnessError && (code === undefined || error.code === code);
}

/** Usage errors (bad flags, bad values): exit code 2 in the CLI. */
export function usageError(message: string, fix: string): HarnessError {
  return new HarnessError('USAGE', message, { fix });
}
