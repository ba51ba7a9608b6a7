// The quality gate holds a night only for a drop beyond its limit that is also significant (or for too few
// scored questions), pairs the arms by question id, and scores hits@K, EM (McNemar) and F1 (bootstrap).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateGate, type GateInput } from './quality-gate.js';
import { mcnemarExact, pairedBootstrap } from './paired-tests.js';

/** n questions q0..q(n-1); the first `hits` have the gold passage at rank 1, the others none in the top k. */
const arm = (n: number, hits: number, k = 20): GateInput[] => Array.from({ length: n }, (_, i) => ({ id: `q${i}`, k, gold_rank: i < hits ? 1 : null }));
const opts = { maxDrop: { 'hits@20': 1 }, alpha: 0.05, minQuestions: 50 };

test('identical arms pass with p = 1 and no discordant pairs', () => {
  const r = evaluateGate(arm(100, 80), arm(100, 80), opts);
  assert.equal(r.passed, true);
  assert.deepEqual(r.reasons, []);
  assert.equal(r.metrics.length, 1);
  const m = r.metrics[0]!;
  assert.deepEqual([m.metric, m.n, m.a, m.b, m.deltaPts, m.p, m.test, m.failed], ['hits@20', 100, 0.8, 0.8, 0, 1, 'mcnemar', false]);
  assert.deepEqual(m.discordant, { aOnly: 0, bOnly: 0 });
  assert.equal(m.line, 'hits@20 80.0 -> 80.0 (+0.0 pts, limit -1, p=1.000, n=100): ok');
  assert.equal(r.summary, 'pass: hits@20 80.0 -> 80.0 (+0.0 pts, p=1.000)');
  assert.equal(r.v, 1);
  assert.equal(r.alpha, 0.05);
  assert.equal(r.minQuestions, 50);
});

test('a large, significant drop of hits@K holds, with a reason line naming the metric and the numbers', () => {
  // 160/200 -> 120/200: 40 questions lost, none gained; McNemar p = 2 / 2^40.
  const r = evaluateGate(arm(200, 160), arm(200, 120), opts);
  assert.equal(r.passed, false);
  const m = r.metrics[0]!;
  assert.deepEqual(m.discordant, { aOnly: 40, bOnly: 0 });
  assert.equal(m.p, mcnemarExact(40, 0));
  assert.ok(Math.abs(m.deltaPts - -20) < 1e-9);
  assert.equal(m.failed, true);
  assert.deepEqual(r.reasons, ['hits@20 80.0 -> 60.0 (-20.0 pts, limit -1, p<0.001, n=200): held: dropped more than 1 pts, significant at 0.05']);
  assert.equal(r.summary, `hold: ${r.reasons[0]}`);
});

test('a drop beyond the limit with few discordant pairs is noise: it passes with a "not significant" note', () => {
  // 80/100 -> 77/100: 3 points lost, but only 3 discordant questions: p = 2 * (1/2)^3 = 0.25.
  const r = evaluateGate(arm(100, 80), arm(100, 77), opts);
  assert.equal(r.passed, true);
  const m = r.metrics[0]!;
  assert.ok(Math.abs(m.p - 0.25) < 1e-12, `p = ${m.p}`);
  assert.equal(m.failed, false);
  assert.equal(m.line, 'hits@20 80.0 -> 77.0 (-3.0 pts, limit -1, p=0.250, n=100): ok: beyond the limit but not significant at 0.05 (noise)');
});

test('a significant drop within the limit passes, and a drop of exactly the limit is not beyond it', () => {
  // 10000 questions, 50 lost and none gained: p is tiny, but 0.5 points is within a 1-point limit.
  const small = evaluateGate(arm(10000, 8000), arm(10000, 7950), opts);
  assert.ok(small.metrics[0]!.p < 1e-10);
  assert.equal(small.passed, true);
  assert.match(small.metrics[0]!.line, /\(-0\.5 pts, limit -1, p<0\.001, n=10000\): ok$/);
  // 2870/3000 -> 2840/3000 is exactly 1 point (in floating point slightly more): not beyond a 1-point limit.
  const exact = evaluateGate(arm(3000, 2870), arm(3000, 2840), opts);
  assert.ok(exact.metrics[0]!.p < 1e-6);
  assert.equal(exact.passed, true);
  assert.match(exact.metrics[0]!.line, /: ok$/);
  // One more lost question and it holds.
  assert.equal(evaluateGate(arm(3000, 2870), arm(3000, 2839), opts).passed, false);
});

test('discordant pairs both ways are counted and tested together', () => {
  // B loses q0..q9 and gains q90..q93: 10 vs 4 discordant.
  const a = arm(100, 90);
  const b = a.map((r, i) => ({ ...r, gold_rank: (i >= 10 && i < 94) ? 3 : null }));
  const m = evaluateGate(a, b, opts).metrics[0]!;
  assert.deepEqual(m.discordant, { aOnly: 10, bOnly: 4 });
  assert.equal(m.p, mcnemarExact(10, 4));
  assert.ok(Math.abs(m.deltaPts - -6) < 1e-9);
});

test('too few scored questions hold the night outright, even with no change', () => {
  const r = evaluateGate(arm(30, 20), arm(30, 20), opts);
  assert.equal(r.passed, false);
  assert.deepEqual(r.reasons, ['hits@20 66.7 -> 66.7 (+0.0 pts, limit -1, p=1.000, n=30): held: only 30 scored question(s), the gate needs 50']);
  // Questions without gold (gold_rank undefined) are not scored: 100 asked, 40 scorable.
  const unscored = (r: GateInput, i: number): GateInput => (i < 60 ? { id: r.id, k: r.k } : r);
  const r2 = evaluateGate(arm(100, 100).map(unscored), arm(100, 100), opts);
  assert.equal(r2.metrics[0]!.n, 40);
  assert.equal(r2.passed, false);
  assert.match(r2.reasons[0]!, /held: only 40 scored question\(s\), the gate needs 50$/);
});

test('records pair by id: order does not matter and ids missing from either arm are skipped', () => {
  // A: q0..q99, B: q10..q109 in reverse order; a hit exactly when the id's number is a multiple of 3.
  const rec = (i: number): GateInput => ({ id: `q${i}`, k: 20, gold_rank: i % 3 === 0 ? 2 : null });
  const a = Array.from({ length: 100 }, (_, i) => rec(i));
  const b = Array.from({ length: 100 }, (_, i) => rec(109 - i));
  const r = evaluateGate(a, b, opts);
  const m = r.metrics[0]!;
  assert.equal(m.n, 90);
  assert.deepEqual(m.discordant, { aOnly: 0, bOnly: 0 });
  assert.equal(m.a, m.b);
  assert.equal(r.passed, true);
});

test('hits@K counts a gold rank up to K as a hit, beyond K or none as a miss', () => {
  // A finds gold at rank 3, B at rank 10: hits@5 falls from 100 % to 0 %, hits@20 is unchanged.
  const a: GateInput[] = Array.from({ length: 60 }, (_, i) => ({ id: `q${i}`, k: 20, gold_rank: 3 }));
  const b: GateInput[] = a.map((r) => ({ ...r, gold_rank: 10 }));
  const r = evaluateGate(a, b, { ...opts, maxDrop: { 'hits@5': 1, 'hits@20': 1 } });
  const [h5, h20] = r.metrics;
  assert.deepEqual([h5!.metric, h5!.a, h5!.b, h5!.failed], ['hits@5', 1, 0, true]);
  assert.deepEqual([h20!.metric, h20!.a, h20!.b, h20!.failed], ['hits@20', 1, 1, false]);
  assert.equal(r.reasons.length, 1);
  assert.match(r.reasons[0]!, /^hits@5 100\.0 -> 0\.0 /);
  // Boundary: rank exactly K is a hit.
  const atK = evaluateGate(a.map((x) => ({ ...x, gold_rank: 5 })), a, { ...opts, maxDrop: { 'hits@5': 1 } }).metrics[0]!;
  assert.equal(atK.a, 1);
});

test('hits@K with K beyond what the runs retrieved is refused; so are unknown metrics', () => {
  assert.throws(() => evaluateGate(arm(60, 50), arm(60, 50), { ...opts, maxDrop: { 'hits@50': 1 } }), /gate metric hits@50 needs at least 50 retrieved passages; the runs retrieved 20/);
  // The smaller k of the two arms counts.
  assert.throws(() => evaluateGate(arm(60, 50, 20), arm(60, 50, 10), opts), /hits@20 needs at least 20 retrieved passages; the runs retrieved 10/);
  assert.throws(() => evaluateGate(arm(60, 50), arm(60, 50), { ...opts, maxDrop: { 'recall@5': 1 } }), /unknown gate metric recall@5/);
  assert.throws(() => evaluateGate(arm(60, 50), arm(60, 50), { ...opts, maxDrop: { 'hits@0': 1 } }), /unknown gate metric hits@0/);
});

test('an empty maxDrop holds: there is nothing to check', () => {
  const r = evaluateGate(arm(60, 50), arm(60, 50), { ...opts, maxDrop: {} });
  assert.equal(r.passed, false);
  assert.deepEqual(r.reasons, ['the gate has no metric to check (gate.maxDrop is empty)']);
});

test('em uses McNemar; a failed answer to a scorable question counts as wrong, to an unscorable one is skipped', () => {
  const rec = (i: number, em: 0 | 1): GateInput => ({ id: `q${i}`, k: 4, gold_rank: 1, em });
  const a = Array.from({ length: 100 }, (_, i) => rec(i, i < 80 ? 1 : 0));
  const b = Array.from({ length: 100 }, (_, i) => rec(i, i < 50 ? 1 : 0));
  const r = evaluateGate(a, b, { ...opts, maxDrop: { em: 2 } });
  const m = r.metrics[0]!;
  assert.deepEqual([m.metric, m.test, m.a, m.b], ['em', 'mcnemar', 0.8, 0.5]);
  assert.deepEqual(m.discordant, { aOnly: 30, bOnly: 0 });
  assert.equal(r.passed, false);
  assert.match(r.reasons[0]!, /^em 80\.0 -> 50\.0 \(-30\.0 pts, limit -2, p<0\.001, n=100\): held/);

  // B failed on q0..q4 (no em, an error): scorable (gold_rank known), so wrong. q95..q99 failed without gold: skipped.
  const b2: GateInput[] = a.map((x, i) => (i < 5 ? { id: x.id, k: 4, gold_rank: 1, error: 'generator timed out' } : i >= 95 ? { id: x.id, k: 4, error: 'timed out' } : x));
  const m2 = evaluateGate(a, b2, { ...opts, maxDrop: { em: 2 } }).metrics[0]!;
  assert.equal(m2.n, 95);
  assert.deepEqual(m2.discordant, { aOnly: 5, bOnly: 0 });
});

test('f1 uses the paired bootstrap: no change passes with p = 1, a consistent drop holds', () => {
  const f = (i: number) => 0.4 + 0.5 * ((i * 31) % 17) / 17;
  const a: GateInput[] = Array.from({ length: 80 }, (_, i) => ({ id: `q${i}`, k: 4, gold_rank: 1, f1: f(i) }));
  const same = evaluateGate(a, a.map((x) => ({ ...x })), { ...opts, maxDrop: { f1: 1 } });
  assert.equal(same.passed, true);
  assert.equal(same.metrics[0]!.test, 'bootstrap');
  assert.equal(same.metrics[0]!.p, 1);
  assert.equal('discordant' in same.metrics[0]!, false);

  // Every question loses 0.1 to 0.3 of F1: every resampled mean difference is negative, p = 1/2000.
  const b = a.map((x, i) => ({ ...x, f1: x.f1! - 0.1 - 0.2 * ((i * 7) % 5) / 5 }));
  const r = evaluateGate(a, b, { ...opts, maxDrop: { f1: 1 } });
  const m = r.metrics[0]!;
  assert.equal(m.p, pairedBootstrap(a.map((x) => x.f1!), b.map((x) => x.f1!)).p);
  assert.equal(m.p, 1 / 2000);
  assert.equal(r.passed, false);
  assert.match(r.reasons[0]!, /^f1 \d+\.\d -> \d+\.\d \(-\d+\.\d pts, limit -1, p<0\.001, n=80\): held: dropped more than 1 pts, significant at 0\.05$/);
  const meanDrop = a.reduce((s, x, i) => s + x.f1! - b[i]!.f1!, 0) / a.length;
  assert.ok(Math.abs(m.deltaPts + meanDrop * 100) < 1e-9);
});
