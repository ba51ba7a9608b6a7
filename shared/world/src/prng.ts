/**
 * Seeded pseudo-random numbers for the synthetic world.
 *
 * Everything random in @rag/world comes from here, never from Math.random or the clock, so that one seed
 * always yields the same bytes. The generator is the "small fast counter" design (128 bits of state,
 * 32-bit arithmetic only), seeded by hashing a text key. Streams are split by label with `fork`, so adding
 * draws to one part of the world (say, the prose of one article) never shifts the numbers another part sees.
 */

/** Mixes a text key into four 32-bit words (a murmur-style finaliser per lane), used as generator state. */
export function hashKey(key: string): [number, number, number, number] {
  let a = 0x9e3779b9 ^ key.length;
  let b = 0x85ebca6b;
  let c = 0xc2b2ae35;
  let d = 0x27d4eb2f;
  for (let i = 0; i < key.length; i++) {
    const ch = key.charCodeAt(i);
    a = Math.imul(a ^ ch, 0xcc9e2d51);
    a = (a << 15) | (a >>> 17);
    b = Math.imul(b ^ a, 0x1b873593);
    c = Math.imul(c + b, 0x5bd1e995) ^ (c >>> 13);
    d = Math.imul(d ^ c, 0x85ebca77) + ch;
  }
  const fin = (h: number): number => {
    h ^= h >>> 16;
    h = Math.imul(h, 0x7feb352d);
    h ^= h >>> 15;
    h = Math.imul(h, 0x846ca68b);
    h ^= h >>> 16;
    return h >>> 0;
  };
  return [fin(a ^ d), fin(b ^ a), fin(c ^ b), fin(d ^ c)];
}

export class Prng {
  /** The text key this stream was seeded from; forks append to it. */
  readonly key: string;
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number | string) {
    this.key = String(seed);
    [this.a, this.b, this.c, this.d] = hashKey(this.key);
    // A few rounds first: the hashed state of similar keys is correlated until mixed.
    for (let i = 0; i < 12; i++) this.nextU32();
  }

  /** An independent stream for one named purpose, fixed by this stream's key and the label alone. */
  fork(label: string | number): Prng {
    return new Prng(`${this.key}/${label}`);
  }

  /** Uniform unsigned 32-bit integer. */
  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [min, max], both ends included. */
  int(min: number, max: number): number {
    if (!Number.isInteger(min) || !Number.isInteger(max) || max < min) {
      throw new RangeError(`Prng.int needs integers min <= max, got ${min}, ${max}`);
    }
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Prng.pick on an empty list');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** A shuffled copy (Fisher–Yates); the input is left alone. */
  shuffle<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const tmp = out[i] as T;
      out[i] = out[j] as T;
      out[j] = tmp;
    }
    return out;
  }

  /** k distinct items in random order (all of them when k >= length). */
  sample<T>(items: readonly T[], k: number): T[] {
    return this.shuffle(items).slice(0, Math.max(0, k));
  }
}
