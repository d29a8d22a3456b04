import { parseArgs, type ParseArgsConfig } from 'node:util';

type ParsedArgs = { values: Record<string, string | boolean | string[] | boolean[] | undefined>; positionals: string[] };
import { usageError } from '../common/errors.js';

/** Exit codes are a contract: users script against them. */
export const EXIT_OK = 0;
export const EXIT_EXPECTATION_FAILED = 1;
export const EXIT_USAGE_OR_ENVIRONMENT = 2;
/** Interrupted by SIGINT/SIGTERM (128 + SIGINT), after cleaning up. */
export const EXIT_INTERRUPTED = 130;

export interface CommandIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Aborted on SIGINT/SIGTERM; long-running commands clean up and return. */
  signal: AbortSignal;
}

export interface Command {
  name: string;
  summary: string;
  /** Full --help text. */
  help: string;
  run(argv: string[], io: CommandIO): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * parseArgs with our usage errors: an unknown flag names itself and points at --help.
 */
export function parseCommandArgs(command: string, argv: string[], options: Options, allowPositionals = false): ParsedArgs {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals, strict: true });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw usageError(message, `run 'regtest-harness ${command} --help' for the flags it takes`);
  }
}

/**
 * Parse an integer flag strictly: decimal digits only, so `0x10`, `1e1`, `3.0`, ` 3` and `+3`
 * (which Number() would accept) are usage errors instead of a surprising count.
 */
export function parseIntegerFlag(command: string, flag: string, value: string | undefined, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  const n = /^[0-9]+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer from ${min} to ${max}`;
    throw usageError(`--${flag} must be ${range} in decimal digits, got '${value}'`, `pass e.g. --${flag} ${Math.min(max, Math.max(min, fallback))}`);
  }
  return n;
}

export function writeLine(stream: NodeJS.WritableStream, line = ''): void {
  stream.write(`${line}\n`);
}
