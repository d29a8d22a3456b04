/**
 * One tracepoint's verdict: how often it fired, and each argument compared with a truth that does
 * not come from the tracer (RPC answers, the debug.log, values the action created). Every argument
 * the binary's probe passes must have been compared at least once, or the verdict says so: a
 * check that never ran must fail, not pass.
 */
import type { TracepointName } from '../../tracing/events.js';

/** A problem text always starts with the argument it is about: "fee: expected 1410, got 1400". */
export type Problem = string;

export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'nothing';
  return String(value);
}

export class TracepointCheck {
  fired = 0;
  readonly problems: Problem[] = [];
  private readonly compared = new Set<string>();

  constructor(
    readonly name: TracepointName,
    /** The argument names this binary's probe passes (the catalog's layout for its version). */
    readonly argumentNames: readonly string[],
  ) {}

  private note(arg: string): void {
    if (!this.argumentNames.includes(arg)) throw new Error(`${this.name} has no argument ${arg} on this binary`);
    this.compared.add(arg);
  }

  /** Exact equality with the truth. */
  equal(arg: string, expected: unknown, got: unknown, about = ''): boolean {
    this.note(arg);
    if (expected === got) return true;
    this.problems.push(`${arg}: expected ${show(expected)}, got ${show(got)}${about ? ` (${about})` : ''}`);
    return false;
  }

  /** A truth that is a range: lo ≤ got ≤ hi. */
  within(arg: string, lo: number, hi: number, got: unknown, about = ''): boolean {
    this.note(arg);
    if (typeof got === 'number' && got >= lo && got <= hi) return true;
    this.problems.push(`${arg}: expected ${lo}..${hi}${about ? ` (${about})` : ''}, got ${show(got)}`);
    return false;
  }

  oneOf(arg: string, allowed: readonly unknown[], got: unknown, about = ''): boolean {
    this.note(arg);
    if (allowed.includes(got)) return true;
    this.problems.push(`${arg}: expected one of ${allowed.map(show).join(', ')}${about ? ` (${about})` : ''}, got ${show(got)}`);
    return false;
  }

  /** The event the truth calls for never fired: the problem names the identifying argument. */
  missing(arg: string, what: string): void {
    this.note(arg);
    this.problems.push(`${arg}: expected an event ${what}, none fired`);
  }

  /** The verdict's problems, plus one per argument that no check ever compared. */
  finish(): Problem[] {
    const unchecked = this.argumentNames.filter((a) => !this.compared.has(a));
    if (this.fired > 0) for (const arg of unchecked) this.problems.push(`${arg}: never compared with a truth`);
    return this.problems;
  }
}

/** BTC amount (RPC) → satoshis. */
export function sats(btc: number): number {
  return Math.round(btc * 1e8);
}

/** getpeerinfo's `network` → Core's Network enum as the connection tracepoints pass it (netaddress.h). */
export const NETWORK_ENUM: Record<string, number> = {
  not_publicly_routable: 0,
  ipv4: 1,
  ipv6: 2,
  onion: 3,
  i2p: 4,
  cjdns: 5,
  internal: 6,
};
