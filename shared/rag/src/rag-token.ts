import { lastPositionLogits, search } from '@rag/generator';
import type { DecodeOptions, DecoderState, EncoderStates, Generator, SearchResult, StepModel } from '@rag/generator';
import type { RagBatch } from './context-inputs.js';
import { docLogPrior } from './doc-scores.js';
import { docTokenLogprob, marginalizeNextToken, tokenDocPosterior, type DocRowNorms } from './marginalize.js';
import { ragTokenNll } from './nll.js';
import { shiftLeft, teacherForce } from './teacher-forcing.js';

/** Per generated token: log p(y_i | x, z, y<i) for every document z, and the prior it is weighed with. */
export interface TokenDocScores {
  docLogprobs: number[];
  logPrior: readonly number[];
}

/**
 * RAG-Token as a StepModel. Each hypothesis h owns K decoder rows (h*K + z), one per document, each
 * with its own KV cache; a step decodes all of them and returns the marginal
 *   log p'(y_i | x, y<i) = logsumexp_z( log p(z|x) + log p(y_i | x, z, y<i) )      [hypotheses, V]
 * which greedy/beam search then treat as the model's logits (HF RagTokenForGeneration.generate).
 */
export class RagTokenStepModel implements StepModel<TokenDocScores> {
  /** the last step's raw logits [rows*K, V] and row normalisers, for per-document token scores */
  private last: { logits: Float32Array; norms: DocRowNorms } | null = null;

  constructor(
    private readonly gen: Generator,
    private state: DecoderState,
    /** [hypothesis][K] */
    private logPrior: (readonly number[])[],
    private readonly K: number,
  ) {}

  get vocabSize(): number {
    return this.gen.vocabSize;
  }

  async next(sequences: readonly (readonly number[])[]): Promise<Float32Array> {
    const K = this.K;
    const ids: number[][] = [];
    for (const s of sequences) {
      const step = this.state.past ? [s[s.length - 1]!] : [...s];
      for (let z = 0; z < K; z++) ids.push(step);
    }
    const res = await this.gen.decodeStep(this.state, ids);
    this.state = res.state;
    const logits = lastPositionLogits(res);
    const { marginal, norms } = marginalizeNextToken(logits, this.logPrior, K, this.vocabSize);
    this.last = { logits, norms };
    return marginal;
  }

  /** Beam reorder: hypothesis i continues src[i], so its K rows continue src[i]'s K rows (HF _reorder_cache). */
  reorder(src: readonly number[]): void {
    const K = this.K;
    this.state = this.gen.reorder(
      this.state,
      src.flatMap((s) => Array.from({ length: K }, (_, z) => s * K + z)),
    );
    this.logPrior = src.map((s) => this.logPrior[s]!);
  }

  annotate(row: number, token: number): TokenDocScores {
    const V = this.vocabSize;
    const { logits, norms } = this.last!;
    const docLogprobs = Array.from({ length: this.K }, (_, z) => docTokenLogprob(logits, norms, V, row * this.K + z, token));
    return { docLogprobs, logPrior: this.logPrior[row]! };
  }
}

/**
 * RAG-Token decoding for a batch: one search over B questions (beam search when numBeams > 1, else
 * greedy), B·numBeams·K decoder rows, row ((b·numBeams + beam)·K + z) reading context row b·K + z.
 */
export function ragTokenSearch(gen: Generator, enc: EncoderStates, batch: RagBatch, o: DecodeOptions): Promise<SearchResult<TokenDocScores>> {
  const K = batch.nDocs;
  const B = batch.docScores.length;
  const nb = o.numBeams;
  const encRows: number[] = [];
  const priors: number[][] = [];
  for (let b = 0; b < B; b++) {
    const prior = docLogPrior(batch.docScores[b]!);
    for (let beam = 0; beam < nb; beam++) {
      priors.push(prior);
      for (let z = 0; z < K; z++) encRows.push(b * K + z);
    }
  }
  const model = new RagTokenStepModel(gen, gen.startDecoding(enc, encRows), priors, K);
  return search(model, B, o);
}

/** Per-token document posteriors of a generated answer: p(z | x, y_i, y<i) for each token. [T][K] */
export function ragTokenPosteriors(annotations: readonly TokenDocScores[]): number[][] {
  return annotations.map((a) => tokenDocPosterior(a.logPrior, a.docLogprobs));
}

export interface RagTokenLabelScores {
  /** -log p(y|x) under RAG-Token (label-smoothed when epsilon > 0) */
  loss: number;
  /** [T] log p'(target_t | x, y<t), 0 at pad targets; Σ = -loss when ε = 0 */
  stepMarginalLogprobs: number[];
  /** [K][T] log p(target_t | x, z, y<t), 0 at pad targets */
  stepDocLogprobs: number[][];
  /** [T][K] p(z | x, target_t, y<t), all zero at pad targets */
  docPosteriors: number[][];
}

/**
 * Scores given labels (`[decoder_start] + tokens + </s>`, pad-right) under RAG-Token, as
 * RagTokenForGeneration(labels=…, reduce_loss=False) does.
 */
export async function ragTokenLabelScores(gen: Generator, enc: EncoderStates, batch: RagBatch, labels: readonly (readonly number[])[], epsilon = 0): Promise<RagTokenLabelScores[]> {
  const K = batch.nDocs;
  const pad = gen.config.padTokenId;
  const logPrior = batch.docScores.map((s) => docLogPrior(s));
  const encRows = labels.flatMap((_, b) => Array.from({ length: K }, (_, z) => b * K + z));
  const groups = await teacherForce(gen, enc, { encRows, labels, K, logPrior, marginal: true, vocabSums: epsilon !== 0 });
  return groups.map((g, b) => {
    const target = shiftLeft(labels[b]!, pad).concat(new Array<number>(g.ll[0]!.length - labels[b]!.length).fill(pad));
    const { loss, stepMarginal } = ragTokenNll(g, target, pad, epsilon, gen.vocabSize);
    const stepDocLogprobs = g.ll.map((row) => row.map((v, t) => (target[t] === pad ? 0 : v)));
    const docPosteriors = target.map((y, t) =>
      y === pad ? new Array<number>(K).fill(0) : tokenDocPosterior(logPrior[b]!, g.ll.map((row) => row[t]!)),
    );
    return { loss, stepMarginalLogprobs: stepMarginal, stepDocLogprobs, docPosteriors };
  });
}
