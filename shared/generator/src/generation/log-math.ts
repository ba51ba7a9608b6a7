/** Numerics shared by decoding and RAG marginalisation. All log-probabilities are natural logs. */
import { fastExp } from './fast-exp.js';

/** log Σ exp(x) over a slice, stable for -Infinity entries (all -Infinity → -Infinity). */
export function logSumExp(x: ArrayLike<number>, start = 0, end = x.length): number {
  let max = -Infinity;
  for (let i = start; i < end; i++) if (x[i]! > max) max = x[i]!;
  if (max === -Infinity) return -Infinity;
  if (max === Infinity) return Infinity;
  let s = 0;
  for (let i = start; i < end; i++) s += fastExp(x[i]! - max);
  return max + Math.log(s);
}

/** out[i] = x[i] - logSumExp(x) for one row [start, start+n) of x, written to out at outStart. */
export function logSoftmaxRow(x: ArrayLike<number>, start: number, n: number, out: Float32Array | Float64Array, outStart = start): void {
  const lse = logSumExp(x, start, start + n);
  for (let i = 0; i < n; i++) out[outStart + i] = x[start + i]! - lse;
}

/** Row-wise log-softmax of a [rows, n] matrix into a new Float32Array. */
export function logSoftmaxRows(x: Float32Array, n: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let s = 0; s < x.length; s += n) logSoftmaxRow(x, s, n, out);
  return out;
}

/** log-softmax of a short vector (e.g. K document scores → log p(z|x)). */
export function logSoftmax(x: readonly number[]): number[] {
  const lse = logSumExp(x);
  return x.map((v) => v - lse);
}

export function softmax(x: readonly number[]): number[] {
  const lse = logSumExp(x);
  if (lse === -Infinity) return x.map(() => 0);
  return x.map((v) => Math.exp(v - lse));
}

/** Index of the largest value in a row; the first one on ties, as torch.argmax. */
export function argmaxRow(x: ArrayLike<number>, start: number, n: number): number {
  let best = 0;
  let bestV = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = x[start + i]!;
    if (v > bestV || (i === 0 && v === bestV)) {
      bestV = v;
      best = i;
    }
  }
  return best;
}
