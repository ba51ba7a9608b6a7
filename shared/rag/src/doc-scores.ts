import { logSoftmax, softmax } from '@rag/generator';

/**
 * Retriever scores: doc_scores[b, j] = q_b · p_j, the inner product HF RagModel computes with
 * `torch.bmm(question_hidden_states[:, None], retrieved_doc_embeds.transpose(1, 2))`.
 * q: [dim], passages: [n, dim] row-major → [n].
 */
export function innerProducts(q: ArrayLike<number>, passages: ArrayLike<number>, dim: number): number[] {
  const n = passages.length / dim;
  const out = new Array<number>(n);
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let d = 0; d < dim; d++) s += q[d]! * passages[j * dim + d]!;
    out[j] = s;
  }
  return out;
}

/** Indices of the k highest scores, best first (ties to the lower index), as an exact flat IP index ranks. */
export function topKIndices(scores: readonly number[], k: number): number[] {
  return scores
    .map((s, i) => [s, i] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1])
    .slice(0, k)
    .map(([, i]) => i);
}

/** log p(z|x) = log_softmax_z(doc_scores): the document prior every RAG variant marginalises with. [K] */
export function docLogPrior(scores: readonly number[]): number[] {
  return logSoftmax(scores);
}

/** p(z|x) = softmax_z(doc_scores). [K] */
export function docPrior(scores: readonly number[]): number[] {
  return softmax(scores);
}
