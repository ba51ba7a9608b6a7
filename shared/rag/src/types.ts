/** The public shapes of @rag/rag. */

/**
 * - 'rag-token': one beam search whose every step marginalises over the K documents (Lewis et al. eq. 2);
 * - 'rag-sequence': "thorough" decoding — a beam search per document, then every distinct hypothesis
 *   re-scored under every document and marginalised (eq. 1; transformers' RagSequenceForGeneration.generate);
 * - 'rag-sequence-fast': the same beams, but a document whose beam did not produce a hypothesis gives it
 *   p = 0 (no extra forward passes; Lewis et al. §2.5);
 * - 'no-retrieval': the generator alone on the question (baseline).
 */
export type RagMode = 'rag-token' | 'rag-sequence' | 'rag-sequence-fast' | 'no-retrieval';

export interface RagDoc {
  id: string;
  title: string;
  text: string;
  /** Retriever score q·p (inner product of question and passage vectors). */
  score: number;
}

export interface RagItem {
  question: string;
  docs: RagDoc[];
}

export interface RagAnswer {
  answer: string;
  /** Generated token ids (decoder start excluded), aligned with `tokens` and `docPosteriors`. */
  tokenIds: number[];
  /**
   * log p(y|x) as the mode defines it (forced tokens such as BART's `<s>` count as certain):
   * rag-token Σ_i log p'(y_i|x,y<i); rag-sequence log Σ_z p(z|x) p(y|x,z) (fast: over the documents
   * whose beams produced y); no-retrieval Σ_i log p(y_i|x,y<i).
   */
  score: number;
  /** Each generated token as text (special tokens spelled out). */
  tokens: string[];
  /**
   * [answer token][doc], rows sum to 1 ([] for no-retrieval). rag-token: p(z|x,y_i,y<i) ∝ p(z|x) p(y_i|x,z,y<i);
   * rag-sequence: p(z|x,y≤i) ∝ p(z|x) Π_{s≤i} p(y_s|x,z,y<s) (fast: 0 for documents that did not produce y).
   */
  docPosteriors: number[][];
  /** softmax of the documents' scores: p(z|x). [] for no-retrieval. */
  docPrior: number[];
  /** Which question (index into items) and which of its numReturnSequences answers (0 = best). */
  questionIndex: number;
  rank: number;
  /** Decoder start + tokenIds: the row transformers' generate() returns (unpadded). */
  sequence: number[];
  /** rag-token / no-retrieval beam search: transformers' length-penalised sequences_scores. */
  beamScore?: number;
  /** rag-sequence: the per-document terms log p(z|x) + log p(y|x,z) (fast: -Infinity where not produced). */
  docLoglik?: number[];
}

export interface RagGenerateOptions {
  mode: RagMode;
  /** Beams (per document for rag-sequence). @defaultValue the generator's num_beams */
  beams?: number;
  /** Decoder length limit incl. the decoder start token. @defaultValue the generator's max_length */
  maxLength?: number;
  /** @defaultValue 1 */
  numReturnSequences?: number;
  /** @defaultValue ' / ' (HF RagConfig.title_sep) */
  titleSep?: string;
  /** @defaultValue ' // ' (HF RagConfig.doc_sep) */
  docSep?: string;
  /** Prepended to every generator input (T5 models want e.g. "question: "). @defaultValue '' */
  prefix?: string;
  /** Generator input length limit (HF RagConfig.max_combined_length). @defaultValue min(300, the tokenizer's model_max_length) */
  maxCombinedLength?: number;
  /**
   * How the question reads in the generator input. HF's RagRetriever feeds the question as decoded by
   * the question encoder's tokenizer (lowercased WordPiece); see dprQuestionRoundTrip. @defaultValue identity
   */
  questionForGenerator?: (question: string) => string;
  /** rag-sequence: drop duplicate hypotheses before re-scoring (HF do_deduplication). @defaultValue true */
  dedup?: boolean;
  /** Other generation settings; each defaults to the generator's config. */
  minLength?: number;
  noRepeatNgramSize?: number;
  repetitionPenalty?: number;
  lengthPenalty?: number;
  earlyStopping?: boolean | 'never';
}
