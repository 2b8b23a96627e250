// Reads of values that change, each kept for a bounded time: the jobs service (./jobs.ts) answers a job's readers
// from one describe of its workflow for up to `maxAgeMs`, and readers that arrive while a read is in flight share
// it, so the load on Temporal is at most one read per job per `maxAgeMs` whatever the number of readers.

export class RecentReads<T> {
  private readonly reads = new Map<string, { startedAt: number; value: Promise<T> }>();
  /** Expired reads are dropped when the map grows past this, so it holds about the keys read within `maxAgeMs`. */
  private sweepAbove = 1024;

  constructor(
    private readonly maxAgeMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The value of the read of `key` started at most `maxAgeMs` ago (settled or in flight); otherwise, or when
   * `fresh`, the value of a new `read`, which later callers share. A read that fails is not kept.
   */
  get(key: string, read: () => Promise<T>, { fresh = false } = {}): Promise<T> {
    const now = this.now();
    const kept = this.reads.get(key);
    if (kept && !fresh && now - kept.startedAt <= this.maxAgeMs) return kept.value;
    const value = read();
    const entry = { startedAt: now, value };
    this.reads.set(key, entry);
    value.catch(() => {
      if (this.reads.get(key) === entry) this.reads.delete(key);
    });
    if (this.reads.size > this.sweepAbove) this.sweep(now);
    return value;
  }

  /** Forgets the read of `key`: the next `get` reads anew (after a change that a kept read would not show). */
  invalidate(key: string): void {
    this.reads.delete(key);
  }

  /** How many reads are kept. */
  get size(): number {
    return this.reads.size;
  }

  private sweep(now: number): void {
    for (const [key, { startedAt }] of this.reads) {
      if (now - startedAt > this.maxAgeMs) this.reads.delete(key);
    }
    this.sweepAbove = Math.max(1024, 2 * this.reads.size);
  }
}
