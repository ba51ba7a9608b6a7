import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fastExp } from './fast-exp.js';

const f64 = new Float64Array(1);
const u64 = new BigInt64Array(f64.buffer);
function ulpDistance(a: number, b: number): number {
  f64[0] = a;
  const x = u64[0]!;
  f64[0] = b;
  return Math.abs(Number(x - u64[0]!));
}

test('fastExp is within 1 ulp of Math.exp over the whole range', () => {
  let seed = 11;
  const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  let worst = 0;
  for (let i = 0; i < 400_000; i++) {
    // most draws where decoding lives (logit differences), the rest across the whole double range
    const x = i % 4 === 0 ? (rnd() - 0.5) * 1500 : -rnd() * 60;
    const a = Math.exp(x);
    const b = fastExp(x);
    worst = Math.max(worst, ulpDistance(a, b));
  }
  assert.ok(worst <= 1, `worst ${worst} ulp`);
});

test('fastExp edge cases match Math.exp', () => {
  for (const x of [0, -0, 1, -1, 1e-300, -1e-300, 707.9, 708, 709.78, 709.79, 710, -706.9, -707, -708.5, -745.13, -745.14, -1000, Infinity, -Infinity, NaN]) {
    const a = Math.exp(x);
    const b = fastExp(x);
    if (Number.isNaN(a)) assert.ok(Number.isNaN(b));
    else assert.ok(ulpDistance(a, b) <= 1, `exp(${x}): ${b} vs ${a}`);
  }
  assert.equal(fastExp(0), 1);
});
