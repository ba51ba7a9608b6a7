import { logSoftmaxRow } from '@rag/generator';

/**
 * RAG-Token marginalisation of one hypothesis' next token (HF RagTokenForGeneration.marginalize):
 *   log p'(y | x, y<i) = logsumexp_z( log p(z|x) + log p(y | x, z, y<i) )
 *
 * logits:   [rows*K, V] raw decoder logits, K consecutive rows per hypothesis (row = h*K + z)
 * logPrior: [rows][K] log p(z|x) of each hypothesis' question
 * docLp:    out [rows*K, V] log_softmax of each document row (kept for per-document scores)
 * returns   [rows, V] marginal log-probs (already normalised: logsumexp over V is 0)
 */
export function marginalizeNextToken(logits: Float32Array, logPrior: readonly (readonly number[])[], K: number, V: number, docLp: Float32Array): Float32Array {
  const rows = logPrior.length;
  for (let r = 0; r < rows * K; r++) logSoftmaxRow(logits, r * V, V, docLp);
  const out = new Float32Array(rows * V);
  const terms = new Float64Array(K);
  for (let h = 0; h < rows; h++) {
    const prior = logPrior[h]!;
    for (let v = 0; v < V; v++) {
      let max = -Infinity;
      for (let z = 0; z < K; z++) {
        const t = prior[z]! + docLp[(h * K + z) * V + v]!;
        terms[z] = t;
        if (t > max) max = t;
      }
      if (max === -Infinity) {
        out[h * V + v] = -Infinity;
        continue;
      }
      let s = 0;
      for (let z = 0; z < K; z++) s += Math.exp(terms[z]! - max);
      out[h * V + v] = max + Math.log(s);
    }
  }
  return out;
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
