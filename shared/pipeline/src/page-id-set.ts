/**
 * Every page id a build has met, exactly, in little memory: the ids' UTF-8 bytes in one growing
 * arena and an open-addressing table of (offset, length) slots, 16-32 bytes of table per id plus
 * the id's bytes (a V8 Set of strings holds a string object and a table entry per id, several
 * times that). Exact, not a window: a dump that repeats a page far from its first copy is
 * deduplicated the same way by a full build and by an incremental one (the first copy wins), so
 * the two never disagree about which rows exist. 6.7M English Wikipedia page ids: ~250 MB at most.
 */
export class PageIdSet {
  private arena = Buffer.alloc(1 << 20);
  private used = 0;
  /** Per slot: offset + 1 into the arena (0 = empty), and the id's byte length. */
  private offsets = new Uint32Array(1 << 16);
  private lengths = new Uint32Array(1 << 16);
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Bytes held: the arena and the slot table. */
  get bytes(): number {
    return this.arena.length + this.offsets.byteLength + this.lengths.byteLength;
  }

  has(id: string): boolean {
    const bytes = Buffer.from(id, 'utf8');
    return this.find(bytes, hash(bytes)) >= 0;
  }

  /** Adds `id`; false if it was there already. */
  add(id: string): boolean {
    const bytes = Buffer.from(id, 'utf8');
    const h = hash(bytes);
    if (this.find(bytes, h) >= 0) return false;
    if ((this.count + 1) * 2 > this.offsets.length) this.grow();
    if (this.used + bytes.length >= 0xffffffff) throw new RangeError('more than 4 GiB of page ids');
    if (this.used + bytes.length > this.arena.length) {
      const next = Buffer.alloc(Math.max(this.arena.length * 2, this.used + bytes.length));
      this.arena.copy(next, 0, 0, this.used);
      this.arena = next;
    }
    bytes.copy(this.arena, this.used);
    this.place(this.used, bytes.length, h);
    this.used += bytes.length;
    this.count++;
    return true;
  }

  private find(bytes: Buffer, h: number): number {
    const mask = this.offsets.length - 1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const off = this.offsets[i]!;
      if (off === 0) return -1;
      const len = this.lengths[i]!;
      if (len === bytes.length && this.arena.compare(bytes, 0, len, off - 1, off - 1 + len) === 0) return i;
    }
  }

  private place(offset: number, length: number, h: number): void {
    const mask = this.offsets.length - 1;
    let i = h & mask;
    while (this.offsets[i] !== 0) i = (i + 1) & mask;
    this.offsets[i] = offset + 1;
    this.lengths[i] = length;
  }

  private grow(): void {
    const oldOffsets = this.offsets;
    const oldLengths = this.lengths;
    this.offsets = new Uint32Array(oldOffsets.length * 2);
    this.lengths = new Uint32Array(oldLengths.length * 2);
    for (let i = 0; i < oldOffsets.length; i++) {
      const off = oldOffsets[i]!;
      if (off === 0) continue;
      const len = oldLengths[i]!;
      this.place(off - 1, len, hash(this.arena.subarray(off - 1, off - 1 + len)));
    }
  }
}

/** FNV-1a over the bytes, 32 bits. */
function hash(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) {
    h ^= b[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
