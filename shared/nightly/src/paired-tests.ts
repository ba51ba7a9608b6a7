/**
 * Paired significance tests for comparing two index versions on the same questions: each question is
 * answered by both arms, so the test looks at the per-question differences, not at two independent
 * samples (which would need many more questions to see the same change).
 */

/**
 * McNemar's exact test for a 0/1 metric (hits@K, EM): only discordant questions carry information.
 * b = questions A got right and B wrong, c = the reverse. Under H0 (no change) each discordant question
 * is a fair coin, so the two-sided p-value is 2 * P(X <= min(b, c)), X ~ Binomial(b + c, 1/2), capped at 1.
 */
export function mcnemarExact(b: number, c: number): number {
  const n = b + c;
  if (n === 0) return 1;
  const k = Math.min(b, c);
  // Sum C(n, i) / 2^n for i <= k in log space: exact enough for n in the millions.
  let logTerm = -n * Math.LN2; // i = 0: C(n, 0) / 2^n
  let sum = Math.exp(logTerm);
  for (let i = 1; i <= k; i++) {
    logTerm += Math.log((n - i + 1) / i);
    sum += Math.exp(logTerm);
  }
  return Math.min(1, 2 * sum);
}

export interface BootstrapResult {
  /** mean(b) - mean(a). */
  delta: number;
  /** 95 % percentile interval of the resampled deltas. */
  ci95: [number, number];
  /** Two-sided: twice the smaller share of resampled deltas on either side of 0 (at least 1/resamples). */
  p: number;
}

/**
 * The paired bootstrap for a continuous metric (F1): resample questions with replacement, keeping each
 * question's pair together, and look at where 0 falls among the resampled mean differences. Seeded, so the
 * same inputs always give the same decision (a gate must not flip-flop on a re-run).
 */
export function pairedBootstrap(a: readonly number[], b: readonly number[], o: { resamples?: number; seed?: number } = {}): BootstrapResult {
  if (a.length !== b.length) throw new Error(`paired bootstrap needs pairs: ${a.length} vs ${b.length} values`);
  const n = a.length;
  const d = a.map((x, i) => b[i]! - x);
  const delta = n ? d.reduce((s, x) => s + x, 0) / n : 0;
  if (n === 0 || d.every((x) => x === 0)) return { delta, ci95: [delta, delta], p: 1 };
  const R = o.resamples ?? 2000;
  const rand = xorshift32(o.seed ?? 0x9e3779b9);
  const deltas = new Float64Array(R);
  let below = 0;
  let above = 0;
  for (let r = 0; r < R; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += d[Math.floor(rand() * n)]!;
    const m = s / n;
    deltas[r] = m;
    if (m <= 0) below++;
    if (m >= 0) above++;
  }
  deltas.sort();
  const at = (q: number) => deltas[Math.min(R - 1, Math.max(0, Math.floor(q * R)))]!;
  return { delta, ci95: [at(0.025), at(0.975)], p: Math.min(1, Math.max(1 / R, (2 * Math.min(below, above)) / R)) };
}

/** A small, fast, seedable generator in [0, 1): enough for resampling indices. */
function xorshift32(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x / 4294967296;
  };
}
