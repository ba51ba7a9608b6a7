import { Seq2SeqStepModel, logSumExp, search } from '@rag/generator';
import type { DecodeOptions, EncoderStates, Generator, Hypothesis } from '@rag/generator';
import type { RagBatch } from './context-inputs.js';
import { docLogPrior } from './doc-scores.js';
import { cumulativeDocPosteriors } from './marginalize.js';
import { ragSequenceNll } from './nll.js';
import { shiftLeft, teacherForce } from './teacher-forcing.js';

/** One distinct hypothesis of a question under RAG-Sequence. */
export interface SequenceCandidate {
  /** decoder start first, no padding */
  tokens: number[];
  /** [K] did document z's beam search return this sequence? */
  generatedBy: boolean[];
  /**
   * [K] log p(z|x) + log p(y|x,z) as HF's get_nll sums it (exclude_bos_score=True: the forced first
   * target is left out, the prior sits at target position 1). Fast decoding: -Infinity for documents
   * whose beams did not produce the sequence.
   */
  docLoglik: number[];
  /** logsumexp_z docLoglik = log p(y|x) (thorough), or its fast approximation */
  score: number;
  /** [K][generated tokens] log p(y_t | x, z, y<t); fast: -Infinity rows for documents that did not produce y */
  tokenDocLogprobs: number[][];
}

export interface SequenceQuestionResult {
  /** [K][numBeams] each document's own beams */
  perDocBeams: Hypothesis<number>[][];
  candidates: SequenceCandidate[];
  /** indices into candidates, best first (numReturnSequences) */
  top: number[];
}

export interface RagSequenceOptions {
  /** 'thorough' re-scores every candidate under every document; 'fast' reuses the beams' own scores. */
  decoding: 'thorough' | 'fast';
  /** HF do_deduplication. @defaultValue true */
  dedup?: boolean;
}

function topIndices(values: readonly number[], n: number): number[] {
  return values
    .map((v, i) => [v, i] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1])
    .slice(0, n)
    .map(([, i]) => i);
}

/**
 * RAG-Sequence decoding (HF RagSequenceForGeneration.generate, plus fast decoding):
 *   1. beam search on each (question, document z) input separately: numBeams hypotheses per document;
 *   2. pool the K·numBeams hypotheses of a question (first occurrences kept when deduplicating);
 *   3. score each candidate y: log p(y|x) = logsumexp_z( log p(z|x) + log p(y|x,z) ) where
 *      thorough: log p(y|x,z) from a forward pass of y under every document z;
 *      fast:     log p(y|x,z) from z's own beam if it produced y, else p(y|x,z) = 0;
 *   4. return the numReturnSequences best.
 * All B·K searches run as one batch (each row's search is independent, so this equals HF's per-question calls).
 */
export async function ragSequenceSearch(gen: Generator, enc: EncoderStates, batch: RagBatch, o: DecodeOptions, opts: RagSequenceOptions): Promise<SequenceQuestionResult[]> {
  const K = batch.nDocs;
  const B = batch.docScores.length;
  const nb = o.numBeams;
  const pad = gen.config.padTokenId;
  const bos = o.bosTokenId;
  const perDoc = { ...o, numReturnSequences: nb };
  const encRows = Array.from({ length: B * K * nb }, (_, i) => Math.floor(i / nb));
  const beams = await search(new Seq2SeqStepModel(gen, gen.startDecoding(enc, encRows)), B * K, perDoc);

  const results: SequenceQuestionResult[] = [];
  for (let b = 0; b < B; b++) {
    const logPrior = docLogPrior(batch.docScores[b]!);
    const perDocBeams = beams.hypotheses.slice(b * K, (b + 1) * K);
    // Candidates in HF order: document-major, beam rank within; deduplication keeps first occurrences.
    const key = (t: readonly number[]) => t.join(',');
    const seen = new Set<string>();
    const cands: { tokens: number[]; generatedBy: boolean[]; ann: (number[] | undefined)[] }[] = [];
    for (const hs of perDocBeams) {
      for (const h of hs) {
        const k = key(h.tokens);
        if (opts.dedup !== false && seen.has(k)) continue;
        seen.add(k);
        // generated_by (and the beam's own token log-probs) belong to the sequence, whichever copy this is.
        const own = perDocBeams.map((docHs) => docHs.find((x) => key(x.tokens) === k));
        cands.push({ tokens: h.tokens, generatedBy: own.map((x) => x !== undefined), ann: own.map((x) => x?.annotations) });
      }
    }
    // HF drops the first target from the likelihood only if it is BOS for every candidate.
    const excludeBos = bos !== null && cands.every((c) => c.tokens[1] === bos);

    let scored: SequenceCandidate[];
    if (opts.decoding === 'thorough') {
      const groups = await teacherForce(gen, enc, {
        encRows: cands.flatMap(() => Array.from({ length: K }, (_, z) => b * K + z)),
        labels: cands.map((c) => c.tokens),
        K,
      });
      scored = cands.map((c, i) => {
        const g = groups[i]!;
        const T = g.ll[0]!.length;
        const target = shiftLeft(c.tokens, pad).concat(new Array<number>(T - c.tokens.length).fill(pad));
        const { docLoglik } = ragSequenceNll(g, logPrior, target, pad, { excludeBos });
        const n = c.tokens.length - 1;
        return {
          tokens: c.tokens,
          generatedBy: c.generatedBy,
          docLoglik,
          score: logSumExp(docLoglik),
          tokenDocLogprobs: g.ll.map((row) => row.slice(0, n)),
        };
      });
    } else {
      scored = cands.map((c) => {
        const n = c.tokens.length - 1;
        const tokenDocLogprobs = c.ann.map((a) => (a ? a.slice(0, n) : new Array<number>(n).fill(-Infinity)));
        const docLoglik = tokenDocLogprobs.map((lp, z) => {
          if (!c.generatedBy[z]) return -Infinity;
          let s = 0;
          for (let t = excludeBos ? 1 : 0; t < n; t++) s += lp[t]!;
          // The prior sits at target position 1, which is <pad> for a one-token answer (HF's quirk).
          return n >= 2 ? s + logPrior[z]! : s;
        });
        return { tokens: c.tokens, generatedBy: c.generatedBy, docLoglik, score: logSumExp(docLoglik), tokenDocLogprobs };
      });
    }
    results.push({ perDocBeams, candidates: scored, top: topIndices(scored.map((c) => c.score), o.numReturnSequences) });
  }
  return results;
}

/** p(z | x, y≤i) along a candidate; fast decoding leaves documents that did not produce it at 0. [T][K] */
export function ragSequencePosteriors(c: SequenceCandidate, docScores: readonly number[], decoding: RagSequenceOptions['decoding']): number[][] {
  const prior = docLogPrior(docScores).map((p, z) => (decoding === 'thorough' || c.generatedBy[z] ? p : -Infinity));
  return cumulativeDocPosteriors(prior, c.tokenDocLogprobs);
}

export interface RagSequenceLabelScores {
  /** -logsumexp_z docLoglik (label-smoothed when epsilon > 0) */
  loss: number;
  /** [K] log p(z|x) + Σ_t log p(target_t|x,z,y<t), prior at position 1 */
  docLoglik: number[];
}

/**
 * Scores given labels under RAG-Sequence, as RagSequenceForGeneration(labels=…, exclude_bos_score=…,
 * reduce_loss=False) does; BOS exclusion applies only if every row's first target is BOS.
 */
export async function ragSequenceLabelScores(
  gen: Generator,
  enc: EncoderStates,
  batch: RagBatch,
  labels: readonly (readonly number[])[],
  opts: { excludeBosScore?: boolean; epsilon?: number } = {},
): Promise<RagSequenceLabelScores[]> {
  const K = batch.nDocs;
  const pad = gen.config.padTokenId;
  const bos = gen.config.bosTokenId;
  const eps = opts.epsilon ?? 0;
  const encRows = labels.flatMap((_, b) => Array.from({ length: K }, (_, z) => b * K + z));
  const groups = await teacherForce(gen, enc, { encRows, labels, K, vocabSums: eps !== 0 });
  const excludeBos = (opts.excludeBosScore ?? false) && bos !== null && labels.every((l) => l[1] === bos);
  return groups.map((g, b) => {
    const target = shiftLeft(labels[b]!, pad).concat(new Array<number>(g.ll[0]!.length - labels[b]!.length).fill(pad));
    return ragSequenceNll(g, docLogPrior(batch.docScores[b]!), target, pad, { excludeBos, epsilon: eps, vocabSize: gen.vocabSize });
  });
}
