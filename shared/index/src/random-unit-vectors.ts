/**
 * Seeded random unit vectors ([n, dim] row-major, L2-normalised), for tests and benchmarks:
 * the same seed gives the same vectors on every machine.
 */
export function randomUnitVectors(n: number, dim: number, seed = 1): Float32Array {
  let state = seed >>> 0 || 1;
  // mulberry32: small, fast, good enough for test data.
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Float32Array(n * dim);
  for (let r = 0; r < n; r++) {
    let norm = 0;
    for (let c = 0; c < dim; c++) {
      // Box–Muller: Gaussian components give directions uniform on the sphere.
      const v = Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
      out[r * dim + c] = v;
      norm += v * v;
    }
    const inv = 1 / Math.sqrt(norm || 1);
    for (let c = 0; c < dim; c++) out[r * dim + c]! *= inv;
  }
  return out;
}
