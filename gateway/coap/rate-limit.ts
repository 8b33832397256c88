/**
 * Per-source token buckets with a bounded number of tracked sources (the least recently seen are forgotten,
 * which only ever makes the limiter more lenient). Checked before any parsing or cryptography.
 */
export class SourceRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; updatedAt: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly maximumSources: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one token for `source`; false when its bucket is empty. */
  allow(source: string): boolean {
    if (this.perSecond <= 0) return true;
    const now = this.now();
    let bucket = this.buckets.get(source);
    if (bucket) {
      this.buckets.delete(source);
      bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.updatedAt) / 1000) * this.perSecond);
      bucket.updatedAt = now;
    } else {
      bucket = { tokens: this.burst, updatedAt: now };
      if (this.buckets.size >= this.maximumSources) this.buckets.delete(this.buckets.keys().next().value as string);
    }
    this.buckets.set(source, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  get trackedSources(): number {
    return this.buckets.size;
  }
}
