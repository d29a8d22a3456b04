/** The last `limit` characters of a stream of text, in whole lines where possible: for error reports. */
export class OutputTail {
  private text = '';
  constructor(private readonly limit = 64 * 1024) {}

  push(chunk: string): void {
    this.text = (this.text + chunk).slice(-this.limit);
  }

  clear(): void {
    this.text = '';
  }

  /** The kept text, trimmed; `lines` keeps only that many trailing lines. */
  read(lines?: number): string {
    const trimmed = this.text.trim();
    return lines === undefined ? trimmed : trimmed.split('\n').slice(-lines).join('\n');
  }

  /** The last non-empty line, e.g. a fatal error printed just before exit. */
  lastLine(): string | undefined {
    return this.read().split('\n').pop() || undefined;
  }
}
