/**
 * exp(x) in float64 within 1 ulp of Math.exp, about twice as fast in hot loops. V8's Math.exp is a
 * call into C (fdlibm) costing ~15 ns; RAG-Token's marginal takes one per logit (rows·K·V ≈ 10^6 per
 * decoder step), which made it the largest JS cost of a batched step.
 *
 * Method (Tang's table-driven exp): x = (32m + j)·ln2/32 + r with |r| <= ln2/64, so
 *   exp(x) = 2^m · 2^(j/32) · exp(r)
 * 2^(j/32) and 2^m come from tables; exp(r) - 1 from a degree-6 Taylor polynomial (truncation error
 * r^7/7! < 4e-18 relative). ln2/32 is split into a high part with 32 trailing zero bits and a low
 * part (fdlibm's split of ln2, divided by 32), so k·ln2/32 is exact enough for 1-ulp results over the
 * whole range. Results near overflow and below ~1e-307 (subnormals) go to Math.exp.
 */

const N = 32;
const INV_LN2_N = N / Math.LN2;
const LN2_N_HI = 6.9314718036912381649e-1 / N;
const LN2_N_LO = 1.9082149292705877e-10 / N;
/** 1.5·2^52: adding and subtracting it rounds a double below 2^51 to the nearest integer. */
const ROUND = 6755399441055744.0;
/** 2^(j/N), j = 0..N-1 */
const TWO_J_N = Float64Array.from({ length: N }, (_, j) => 2 ** (j / N));
const M_MIN = -1023;
/** 2^m, m = M_MIN..1023 */
const TWO_M = Float64Array.from({ length: 2047 }, (_, i) => 2 ** (i + M_MIN));
const FAST_MIN = -707;
const FAST_MAX = 708;

export function fastExp(x: number): number {
  if (!(x >= FAST_MIN && x <= FAST_MAX)) return Math.exp(x); // NaN, ±Infinity, extremes
  const kf = x * INV_LN2_N + ROUND - ROUND;
  const r = x - kf * LN2_N_HI - kf * LN2_N_LO;
  const p = r * (1 + r * (1 / 2 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (1 / 720))))));
  const k = kf | 0;
  const t = TWO_J_N[k & (N - 1)]!;
  return (t + t * p) * TWO_M[(k >> 5) - M_MIN]!;
}
