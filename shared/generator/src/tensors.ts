import { endianness } from 'node:os';
import { Tensor } from 'onnxruntime-node';
import { ModelLoadError } from '@rag/core';

// int64 tensors are written through an Int32 view (low word = value, high word = 0): no BigInt per token.
const LITTLE_ENDIAN = endianness() === 'LE';

/** An int64 tensor of non-negative ids/flags from row arrays that all have the same length. */
export function int64Tensor(rows: readonly (readonly number[])[], width = rows[0]?.length ?? 0): Tensor {
  if (!LITTLE_ENDIAN) throw new ModelLoadError('int64 packing assumes a little-endian CPU', { hint: 'run on x86_64 or arm64' });
  const data = new BigInt64Array(rows.length * width);
  const view = new Int32Array(data.buffer);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    if (row.length !== width) throw new RangeError(`row ${r} has ${row.length} ids, expected ${width}`);
    for (let j = 0; j < width; j++) view[(r * width + j) * 2] = row[j]!;
  }
  return new Tensor('int64', data, [rows.length, width]);
}

/** Rows of a [rows, width] int64 tensor as plain numbers. */
export function int64Rows(t: Tensor): number[][] {
  const [rows, width] = t.dims as [number, number];
  const view = new Int32Array((t.data as BigInt64Array).buffer, (t.data as BigInt64Array).byteOffset, rows * width * 2);
  const out: number[][] = [];
  for (let r = 0; r < rows; r++) {
    const row = new Array<number>(width);
    for (let j = 0; j < width; j++) row[j] = view[(r * width + j) * 2]!;
    out.push(row);
  }
  return out;
}

/** A zero-filled float32 tensor (empty past for a merged decoder's first step has a 0 dimension). */
export function zerosFloat32(dims: readonly number[]): Tensor {
  return new Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
}

/**
 * Gathers rows along the first dimension: out[i] = t[src[i]]. Beam search reorders the KV cache this way
 * (HF `_reorder_cache` / index_select on dim 0); src may repeat rows or drop them.
 */
export function gatherRows(t: Tensor, src: readonly number[]): Tensor {
  const dims = t.dims;
  const rows = dims[0]!;
  const rowSize = dims.slice(1).reduce((a, b) => a * b, 1);
  const data = t.data as Float32Array | BigInt64Array;
  // Every element is written below: skip the zero-fill of a fresh typed array (the first step's
  // cross-attention expansion gathers hundreds of MB).
  const bytes = Buffer.allocUnsafeSlow(src.length * rowSize * data.BYTES_PER_ELEMENT).buffer;
  const out = data instanceof BigInt64Array ? new BigInt64Array(bytes) : new Float32Array(bytes);
  for (let i = 0; i < src.length; i++) {
    const s = src[i]!;
    if (s < 0 || s >= rows) throw new RangeError(`row ${s} out of range 0..${rows - 1}`);
    (out as Float32Array).set((data as Float32Array).subarray(s * rowSize, (s + 1) * rowSize), i * rowSize);
  }
  return new Tensor(t.type as 'float32', out as Float32Array, [src.length, ...dims.slice(1)]);
}

/** True when src is 0..n-1 for a tensor of n rows (nothing to gather). */
export function isIdentity(src: readonly number[], rows: number): boolean {
  if (src.length !== rows) return false;
  for (let i = 0; i < src.length; i++) if (src[i] !== i) return false;
  return true;
}
