/**
 * Opens once every party has spawned its process or given up. A network's nodes wait on it before
 * their first RPC call: that call loads the RPC client (harness/rpc.ts), ~0.2 s of synchronous
 * module loading that would otherwise hold back the spawns still queued behind it, so the load
 * overlaps bitcoind's own start-up instead of delaying it (bench/whole-process.ts measures this).
 */
export class SpawnBarrier<Party> {
  private readonly waiting: Set<Party>;
  private open: () => void = () => undefined;
  readonly opened: Promise<void>;

  constructor(parties: Iterable<Party>) {
    this.waiting = new Set(parties);
    this.opened = new Promise<void>((resolve) => {
      this.open = resolve;
    });
    if (this.waiting.size === 0) this.open();
  }

  /** This party spawned, or failed before it could: idempotent. */
  arrive(party: Party): void {
    if (this.waiting.delete(party) && this.waiting.size === 0) this.open();
  }
}
