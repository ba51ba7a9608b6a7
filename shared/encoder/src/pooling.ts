import type { Pooling } from './encoder-options.js';

/**
 * Pools one batch of token states [rows, seqLen, dim] into out[outRow * dim ...] for each row.
 * Mean pooling averages only real tokens (attention mask 1), so padding to the batch maximum does
 * not change a text's vector; CLS takes position 0.
 */
export function poolBatch(
  hidden: Float32Array,
  rows: number,
  seqLen: number,
  dim: number,
  mask: Uint8Array,
  pooling: Pooling,
  out: Float32Array,
  outRows: ArrayLike<number>,
): void {
  for (let r = 0; r < rows; r++) {
    const dst = outRows[r]! * dim;
    const base = r * seqLen * dim;
    if (pooling === 'cls') {
      out.set(hidden.subarray(base, base + dim), dst);
      continue;
    }
    out.fill(0, dst, dst + dim);
    let count = 0;
    for (let t = 0; t < seqLen; t++) {
      if (mask[r * seqLen + t] === 0) continue;
      count++;
      const src = base + t * dim;
      for (let d = 0; d < dim; d++) out[dst + d]! += hidden[src + d]!;
    }
    // sentence-transformers clamps the count to 1e-9; the same here so an all-masked row gives zeros, not NaN.
    const inv = 1 / Math.max(count, 1e-9);
    for (let d = 0; d < dim; d++) out[dst + d]! *= inv;
  }
}

/** L2-normalises each row of a row-major [n, dim] matrix in place (zero rows stay zero). */
export function l2NormalizeRows(m: Float32Array, dim: number): void {
  for (let off = 0; off < m.length; off += dim) {
    let ss = 0;
    for (let d = 0; d < dim; d++) ss += m[off + d]! * m[off + d]!;
    const inv = 1 / Math.max(Math.sqrt(ss), 1e-12);
    for (let d = 0; d < dim; d++) m[off + d]! *= inv;
  }
}
