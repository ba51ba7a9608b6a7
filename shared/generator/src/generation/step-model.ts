/**
 * What a decoding strategy needs from a model: next-token scores for the running rows, and a way to
 * follow rows when beams are reordered or pruned. A plain seq2seq model is one implementation
 * (Seq2SeqStepModel); RAG-Token, which marginalises K decoder rows per hypothesis, is another.
 */
export interface StepModel<A = unknown> {
  readonly vocabSize: number;
  /**
   * Raw next-token scores, [rows, vocab] row-major, for rows whose full sequences (decoder start first)
   * are `sequences`; the last token of each is new since the previous call. Raw = what transformers
   * calls `outputs.logits[:, -1]`: greedy processes them directly, beam search log-softmaxes first.
   */
  next(sequences: readonly (readonly number[])[]): Promise<Float32Array>;
  /** Row i of the next step continues row src[i] of this one (src may repeat or drop rows). */
  reorder(src: readonly number[]): void;
  /** Optional per-token record for a token chosen from `row` at the last step (e.g. its log-prob). */
  annotate?(row: number, token: number): A;
}

/** One finished (or returned) hypothesis. */
export interface Hypothesis<A = unknown> {
  /** Decoder start token first, then every generated token; no trailing fill. */
  tokens: number[];
  /** Beam search: transformers' `sequences_scores` (length-penalised); greedy: sum of transitionScores. */
  score: number;
  /** Per generated token: the processed log-prob it was chosen with (forced tokens give 0). */
  transitionScores: number[];
  /** Per generated token: StepModel.annotate's record, when the model has one. */
  annotations: A[];
}

export interface SearchResult<A = unknown> {
  /** [batch][rank], best first; numReturnSequences per batch item. */
  hypotheses: Hypothesis<A>[][];
  /** As transformers returns them: batch-major rows, padded to the longest with the fill token. */
  sequences: number[][];
}
