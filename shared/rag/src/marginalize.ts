let scratch = new Float64Array(0);

/**
 * RAG-Token marginalisation of one hypothesis' next token (HF RagTokenForGeneration.marginalize):
 *   log p'(y | x, y<i) = logsumexp_z( log p(z|x) + log p(y | x, z, y<i) )
 *
 * logits:   [rows*K, V] raw decoder logits, K consecutive rows per hypothesis (row = h*K + z)
 * logPrior: [rows][K] log p(z|x) of each hypothesis' question
 * docLp:    out [rows*K, V] log_softmax of each document row (kept for per-document scores)
 * returns   [rows, V] marginal log-probs (already normalised: logsumexp over V is 0)
 *
 * One exp per logit: with e_zv = exp(logit_zv - max_z) and s_z = Σ_v e_zv (the log-softmax's own sum),
 *   Σ_z p(z|x) p(v|x,z) = Σ_z (exp(log p(z|x)) / s_z) · e_zv
 * (float64 throughout; a token whose every term underflows falls back to the logsumexp form).
 */
export function marginalizeNextToken(logits: Float32Array, logPrior: readonly (readonly number[])[], K: number, V: number, docLp: Float32Array): Float32Array {
  const rows = logPrior.length;
  const n = rows * K * V;
  if (scratch.length < n) scratch = new Float64Array(n);
  const e = scratch;
  const lse = new Float64Array(rows * K);
  for (let r = 0; r < rows * K; r++) {
    const o = r * V;
    let max = -Infinity;
    for (let v = 0; v < V; v++) if (logits[o + v]! > max) max = logits[o + v]!;
    let s = 0;
    if (max === -Infinity || max === Infinity) {
      for (let v = 0; v < V; v++) e[o + v] = 0;
      lse[r] = max;
    } else {
      for (let v = 0; v < V; v++) {
        const x = Math.exp(logits[o + v]! - max);
        e[o + v] = x;
        s += x;
      }
      lse[r] = max + Math.log(s);
    }
    const l = lse[r]!;
    for (let v = 0; v < V; v++) docLp[o + v] = logits[o + v]! - l;
  }
  const out = new Float32Array(rows * V);
  const c = new Float64Array(K);
  for (let h = 0; h < rows; h++) {
    const prior = logPrior[h]!;
    for (let z = 0; z < K; z++) {
      const r = h * K + z;
      // exp(prior - lse + max) = p(z|x) / s_z
      const l = lse[r]!;
      c[z] = Number.isFinite(l) ? Math.exp(prior[z]! - l + maxOf(logits, r * V, V)) : 0;
    }
    const o = h * V;
    for (let v = 0; v < V; v++) {
      let s = 0;
      for (let z = 0; z < K; z++) s += c[z]! * e[(h * K + z) * V + v]!;
      out[o + v] = s > 0 && Number.isFinite(s) ? Math.log(s) : logSumExpTerms(prior, docLp, h, K, V, v);
    }
  }
  return out;
}

function maxOf(x: Float32Array, start: number, n: number): number {
  let max = -Infinity;
  for (let i = start; i < start + n; i++) if (x[i]! > max) max = x[i]!;
  return max;
}

/** logsumexp_z(prior_z + docLp[(h*K+z), v]): exact for tokens whose probability terms all underflow. */
function logSumExpTerms(prior: readonly number[], docLp: Float32Array, h: number, K: number, V: number, v: number): number {
  let max = -Infinity;
  for (let z = 0; z < K; z++) max = Math.max(max, prior[z]! + docLp[(h * K + z) * V + v]!);
  if (max === -Infinity) return -Infinity;
  let s = 0;
  for (let z = 0; z < K; z++) s += Math.exp(prior[z]! + docLp[(h * K + z) * V + v]! - max);
  return max + Math.log(s);
}

/**
 * Document posterior for one token under RAG-Token:
 *   p(z | x, y_i, y<i) = softmax_z( log p(z|x) + log p(y_i | x, z, y<i) )      [K]
 */
export function tokenDocPosterior(logPrior: readonly number[], docTokenLogprobs: readonly number[]): number[] {
  const a = logPrior.map((p, z) => p + docTokenLogprobs[z]!);
  const max = Math.max(...a);
  if (max === -Infinity) return a.map(() => 0);
  const e = a.map((v) => Math.exp(v - max));
  const s = e.reduce((x, y) => x + y, 0);
  return e.map((v) => v / s);
}

/**
 * Document posteriors along a sequence under RAG-Sequence (the document is fixed for the whole answer):
 *   p(z | x, y≤i) ∝ p(z|x) Π_{s≤i} p(y_s | x, z, y<s)
 * docTokenLogprobs: [K][T] (a -Infinity prior drops a document, e.g. fast decoding's unseen ones) → [T][K]
 */
export function cumulativeDocPosteriors(logPrior: readonly number[], docTokenLogprobs: readonly (readonly number[])[]): number[][] {
  const K = logPrior.length;
  const T = docTokenLogprobs[0]?.length ?? 0;
  const acc = [...logPrior];
  const out: number[][] = [];
  for (let t = 0; t < T; t++) {
    for (let z = 0; z < K; z++) acc[z] = acc[z]! + docTokenLogprobs[z]![t]!;
    out.push(tokenDocPosterior(acc, new Array<number>(K).fill(0)));
  }
  return out;
}
