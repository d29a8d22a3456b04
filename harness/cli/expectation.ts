/** Thrown by a command when the network ran but an expectation did not hold: exit code 1. */
export class ExpectationFailed extends Error {
  /** The human-readable diff, printed to stderr as is. */
  readonly report: string;
  constructor(report: string) {
    super('expectation failed');
    this.name = 'ExpectationFailed';
    this.report = report;
  }
}
