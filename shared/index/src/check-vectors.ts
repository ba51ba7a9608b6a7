import { CorruptInputError, UsageError } from '@rag/core';

/** Checks that `data` holds `rows` whole vectors of `dim` floats (rows = undefined: any whole count). Returns rows. */
export function checkShape(data: Float32Array, dim: number, what: string, rows?: number): number {
  if (!(data instanceof Float32Array)) throw new UsageError(`${what} must be a Float32Array`);
  if (!Number.isInteger(dim) || dim < 1) throw new UsageError(`dimension must be a positive integer, got ${dim}`);
  if (rows !== undefined && data.length !== rows * dim) {
    throw new UsageError(`${what}: expected ${rows} vectors of dimension ${dim} (${rows * dim} floats), got ${data.length} floats`, {
      hint: 'the vectors and the index must come from the same encoder',
    });
  }
  if (data.length % dim !== 0) {
    throw new UsageError(`${what}: ${data.length} floats is not a whole number of ${dim}-d vectors`, {
      hint: 'the vectors and the index must come from the same encoder',
    });
  }
  return data.length / dim;
}

/** NaN or ±Infinity would poison FAISS silently (k-means, graph links); refuse them with their position. */
export function checkFinite(data: Float32Array, dim: number, what: string): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v - v !== 0) {
      throw new CorruptInputError(`${what}: non-finite value ${v} in vector ${Math.floor(i / dim)} (component ${i % dim})`, {
        hint: 'the encoder produced NaN/Infinity; re-encode this shard',
        details: { vector: Math.floor(i / dim), component: i % dim },
      });
    }
  }
}
