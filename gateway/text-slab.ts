/**
 * UTF-8 bytes of the MQTT payloads the gateway makes for every uplink, written into shared 64 KB slabs.
 * Buffer.from(text) does the same with an 8 KB pool, and with payloads of 150-400 bytes it allocates a new pool
 * every 20-50 uplinks: each is an ArrayBuffer outside the V8 heap, which costs a native allocation, garbage
 * collector bookkeeping and external-memory pressure (in profiles, 5-10% of the time spent on an uplink).
 *
 * A slab lives as long as any payload in it (the journal rows until their commit and hand-over to the MQTT side),
 * so at most about one slab per 64 KB of payloads in flight.
 */
export const SLAB_BYTES = 65536;

export class TextSlab {
  private slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
  private offset = 0;

  encode(text: string): Buffer {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    const worst = text.length * 3;
    if (worst > SLAB_BYTES / 8) return Buffer.from(text, 'utf8');
    if (this.offset + worst > SLAB_BYTES) {
      this.slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
      this.offset = 0;
    }
    const start = this.offset;
    this.offset += this.slab.write(text, start, 'utf8');
    return this.slab.subarray(start, this.offset);
  }
}
