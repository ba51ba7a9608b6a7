import { fastExp } from '@rag/generator';

// One document row's exp(logit - max) and a hypothesis' running sum over documents: [V] each.
let row = new Float64Array(0);
let acc = new Float64Array(0);

/** What one RAG-Token step leaves behind for per-document scores: the log-softmax normaliser of every row. */
export interface DocRowNorms {
  /** [rows*K] logsumexp_v(logits[r, v]) (float64); ±Infinity for a row whose max is infinite */
  lse: Float64Array;
}

/**
 * log p(v | x, z, y<i) for document row r = h*K + z, as float32: logits[r, v] - lse[r] (the log-softmax
 * entry, computed only for the tokens someone asks about instead of for the whole [rows*K, V] block).
 */
export function docTokenLogprob(logits: Float32Array, norms: DocRowNorms, V: number, r: number, v: number): number {
  return Math.fround(logits[r * V + v]! - norms.lse[r]!);
}

/**
 * RAG-Token marginalisation of one hypothesis' next token (HF RagTokenForGeneration.marginalize):
 *   log p'(y | x, y<i) = logsumexp_z( log p(z|x) + log p(y | x, z, y<i) )
 *
 * logits:   [rows*K, V] raw decoder logits, K consecutive rows per hypothesis (row = h*K + z)
 * logPrior: [rows][K] log p(z|x) of each hypothesis' question
 * returns   marginal [rows, V] log-probs (already normalised: logsumexp over V is 0), and each document
 *           row's normaliser (docTokenLogprob gives its log_softmax entries)
 *
 * One exp per logit: with e_zv = exp(logit_zv - max_z) and s_z = Σ_v e_zv (the log-softmax's own sum),
 *   Σ_z p(z|x) p(v|x,z) = Σ_z (exp(log p(z|x)) / s_z) · e_zv
 * (float64 throughout; a token whose every term underflows falls back to the logsumexp form).
 */
export function marginalizeNextToken(logits: Float32Array, logPrior: readonly (readonly number[])[], K: number, V: number): { marginal: Float32Array; norms: DocRowNorms } {
  const rows = logPrior.length;
  if (row.length < V) {
    row = new Float64Array(V);
    acc = new Float64Array(V);
  }
  const lse = new Float64Array(rows * K);
  const norms = { lse };
  const out = new Float32Array(rows * V);
  for (let h = 0; h < rows; h++) {
    const prior = logPrior[h]!;
    acc.fill(0, 0, V);
    // Document by document (each row's e_zv stays in cache): acc_v += (p(z|x) / s_z) · e_zv
    for (let z = 0; z < K; z++) {
      const r = h * K + z;
      const o = r * V;
      let max = -Infinity;
      for (let v = 0; v < V; v++) if (logits[o + v]! > max) max = logits[o + v]!;
      if (max === -Infinity || max === Infinity) {
        lse[r] = max;
        continue;
      }
      let s = 0;
      for (let v = 0; v < V; v++) {
        const x = fastExp(logits[o + v]! - max);
        row[v] = x;
        s += x;
      }
      const l = max + Math.log(s);
      lse[r] = l;
      // exp(prior - lse + max) = p(z|x) / s_z
      const c = Math.exp(prior[z]! - l + max);
      for (let v = 0; v < V; v++) acc[v] = acc[v]! + c * row[v]!;
    }
    const o = h * V;
    for (let v = 0; v < V; v++) {
      const s = acc[v]!;
      out[o + v] = s > 0 && Number.isFinite(s) ? Math.log(s) : logSumExpTerms(prior, logits, norms, h, K, V, v);
    }
  }
  return { marginal: out, norms };
}

/** logsumexp_z(prior_z + log p(v|x,z)): exact for tokens whose probability terms all underflow. */
function logSumExpTerms(prior: readonly number[], logits: Float32Array, norms: DocRowNorms, h: number, K: number, V: number, v: number): number {
  let max = -Infinity;
  for (let z = 0; z < K; z++) max = Math.max(max, prior[z]! + docTokenLogprob(logits, norms, V, h * K + z, v));
  if (max === -Infinity) return -Infinity;
  let s = 0;
  for (let z = 0; z < K; z++) s += Math.exp(prior[z]! + docTokenLogprob(logits, norms, V, h * K + z, v) - max);
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
