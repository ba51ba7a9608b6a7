// McNemar's exact p-value agrees with an exact binomial sum done in BigInt (small and large n), and the seeded
// paired bootstrap is deterministic, sees no change where there is none and a clear shift where there is one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mcnemarExact, pairedBootstrap } from './paired-tests.js';

/** 2 * sum_{i <= min(b, c)} C(n, i) / 2^n, capped at 1, computed exactly with BigInt and divided at the end. */
function mcnemarBig(b: number, c: number): number {
  const n = b + c;
  if (n === 0) return 1;
  const k = Math.min(b, c);
  let term = 1n; // C(n, 0)
  let sum = 1n;
  for (let i = 1; i <= k; i++) {
    term = (term * BigInt(n - i + 1)) / BigInt(i); // exact: C(n, i-1) * (n-i+1) is divisible by i
    sum += term;
  }
  const num = 2n * sum;
  const den = 1n << BigInt(n);
  if (num >= den) return 1;
  // Keep 64+ bits of the quotient, then scale back: exact to double precision even when num and den overflow a double.
  const shift = den.toString(2).length - num.toString(2).length + 64;
  return Number((num << BigInt(shift)) / den) / 2 ** shift;
}

const close = (actual: number, expected: number, rel = 1e-9) =>
  assert.ok(Math.abs(actual - expected) <= rel * Math.max(Math.abs(expected), Number.MIN_VALUE), `${actual} vs ${expected}`);

test('mcnemarExact: no discordant pairs, or as many each way, is no evidence at all (p = 1)', () => {
  assert.equal(mcnemarExact(0, 0), 1);
  for (const n of [1, 2, 7, 50, 1000]) assert.equal(mcnemarExact(n, n), 1, `b = c = ${n}`);
  assert.equal(mcnemarExact(1, 0), 1); // one discordant question: p = 2 * 1/2
});

test('mcnemarExact: hand-computed small cases', () => {
  // All 10 discordant pairs one way: 2 * (1/2)^10.
  assert.equal(mcnemarExact(0, 10), 2 / 1024);
  // n = 11, k = 1: 2 * (C(11,0) + C(11,1)) / 2^11 = 24 / 2048.
  close(mcnemarExact(1, 10), 24 / 2048);
  // n = 3, k = 0: 2/8.
  close(mcnemarExact(3, 0), 0.25);
});

test('mcnemarExact matches the exact binomial sum for every split of small n', () => {
  for (let n = 1; n <= 60; n++) {
    for (let b = 0; b <= n; b++) close(mcnemarExact(b, n - b), mcnemarBig(b, n - b), 1e-10);
  }
});

test('mcnemarExact is symmetric in its arguments', () => {
  for (const [b, c] of [[0, 5], [3, 17], [40, 55], [120, 80], [999, 1001]] as const) {
    assert.equal(mcnemarExact(b, c), mcnemarExact(c, b), `(${b}, ${c})`);
  }
});

test('mcnemarExact stays exact for large n (log-space sum) and gives a tiny p for a large asymmetric split', () => {
  close(mcnemarExact(950, 1050), mcnemarBig(950, 1050), 1e-9);
  close(mcnemarExact(4700, 5300), mcnemarBig(4700, 5300), 1e-8);
  const tiny = mcnemarExact(5, 100);
  close(tiny, mcnemarBig(5, 100), 1e-9);
  assert.ok(tiny > 0 && tiny < 1e-20, `p = ${tiny}`);
  // More lopsided with the same n means a smaller p.
  assert.ok(mcnemarExact(30, 70) < mcnemarExact(40, 60) && mcnemarExact(40, 60) < mcnemarExact(45, 55));
});

/** Deterministic, seed-free pseudo-noise in [-0.5, 0.5). */
const noise = (i: number) => ((i * 7919) % 101) / 101 - 0.5;

test('pairedBootstrap is deterministic for a seed and depends on it', () => {
  const a = Array.from({ length: 40 }, (_, i) => 0.5 + 0.3 * noise(i));
  const b = a.map((x, i) => x + 0.02 + 0.2 * noise(i * 3 + 1));
  const r1 = pairedBootstrap(a, b, { resamples: 500, seed: 7 });
  assert.deepEqual(pairedBootstrap(a, b, { resamples: 500, seed: 7 }), r1);
  assert.notDeepEqual(pairedBootstrap(a, b, { resamples: 500, seed: 8 }).ci95, r1.ci95);
  // The default seed is fixed too: a re-run of the gate gives the same decision.
  assert.deepEqual(pairedBootstrap(a, b), pairedBootstrap(a, b));
});

test('pairedBootstrap: no differences at all gives p = 1 and a zero-width interval', () => {
  const a = [0.1, 0.5, 0.9, 0.3];
  const r = pairedBootstrap(a, [...a], { resamples: 100, seed: 1 });
  assert.deepEqual(r, { delta: 0, ci95: [0, 0], p: 1 });
  assert.deepEqual(pairedBootstrap([], []), { delta: 0, ci95: [0, 0], p: 1 });
});

test('pairedBootstrap: a clear shift gives delta = mean(b) - mean(a), the smallest p and a CI excluding 0', () => {
  const a = Array.from({ length: 50 }, (_, i) => 0.6 + 0.3 * noise(i));
  const d = Array.from({ length: 50 }, (_, i) => -0.2 + 0.1 * noise(i * 5 + 2)); // every difference is negative
  const b = a.map((x, i) => x + d[i]!);
  const R = 1000;
  const r = pairedBootstrap(a, b, { resamples: R, seed: 3 });
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  close(r.delta, mean(b) - mean(a), 1e-12);
  // Every resampled mean of all-negative differences is negative, so p is its floor 1/R.
  assert.equal(r.p, 1 / R);
  assert.ok(r.ci95[0] <= r.delta && r.delta <= r.ci95[1], `${r.ci95} around ${r.delta}`);
  assert.ok(r.ci95[1] < 0, `CI ${r.ci95} excludes 0`);
  assert.ok(r.ci95[0] >= Math.min(...d) && r.ci95[1] <= Math.max(...d));
});

test('pairedBootstrap: symmetric noise around 0 is not significant and its CI has the normal-theory width', () => {
  const n = 100;
  const d = Array.from({ length: n }, (_, i) => (i % 2 ? 1 : -1) * (0.05 + 0.1 * ((i * 37) % 11) / 11));
  const a = Array.from({ length: n }, (_, i) => 0.5 + 0.2 * noise(i));
  const b = a.map((x, i) => x + d[i]!);
  const r = pairedBootstrap(a, b, { resamples: 2000, seed: 11 });
  assert.ok(r.p > 0.2, `p = ${r.p}`);
  assert.ok(r.ci95[0] < 0 && r.ci95[1] > 0, `CI ${r.ci95} contains 0`);
  // The bootstrap SE of a mean is about sd/sqrt(n): the 95 % interval is about 2 * 1.96 * sd/sqrt(n) wide.
  const diffs = a.map((x, i) => b[i]! - x);
  const m = diffs.reduce((s, x) => s + x, 0) / n;
  const sd = Math.sqrt(diffs.reduce((s, x) => s + (x - m) ** 2, 0) / n);
  const expected = 2 * 1.96 * sd / Math.sqrt(n);
  const width = r.ci95[1] - r.ci95[0];
  assert.ok(Math.abs(width - expected) / expected < 0.15, `width ${width} vs ${expected}`);
});

test('pairedBootstrap: swapping the arms negates delta and keeps p (same seed, same resamples)', () => {
  const a = Array.from({ length: 30 }, (_, i) => 0.5 + 0.4 * noise(i));
  const b = a.map((x, i) => x + 0.03 + 0.3 * noise(i * 11 + 4));
  const ab = pairedBootstrap(a, b, { resamples: 800, seed: 5 });
  const ba = pairedBootstrap(b, a, { resamples: 800, seed: 5 });
  assert.equal(ba.delta, -ab.delta);
  assert.equal(ba.p, ab.p);
});

test('pairedBootstrap refuses arms of different lengths', () => {
  assert.throws(() => pairedBootstrap([1, 2, 3], [1, 2]), /paired bootstrap needs pairs: 3 vs 2 values/);
});
