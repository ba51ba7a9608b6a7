/**
 * What the retrieval score printed next to a passage means, in one line. Scores are always the inner product
 * of the question vector and the passage vector (what FAISS ranks by and RAG's doc score), but their scale
 * depends on the question encoder: unit vectors give cosine similarity (at most 1, as `search` prints with
 * MiniLM), and a question encoder trained for a RAG generator may scale its vectors (the shipped world
 * question encoder: 20 × cosine, so the demo prints ~15 where `search` prints ~0.76).
 */
export function scoreMeaning(questionEncoder: { normalize: boolean; queryScale: number }): string {
  const { normalize, queryScale } = questionEncoder;
  if (!normalize) return 'score: inner product of question and passage vectors (not normalised: compare scores of one question only)';
  if (queryScale === 1) return 'score: cosine similarity of question and passage (inner product of unit vectors, at most 1)';
  return `score: ${queryScale} × cosine similarity (this question encoder scales its unit vectors by ${queryScale}, the scale its generator was trained on; at most ${queryScale})`;
}
