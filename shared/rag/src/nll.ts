import { logSumExp } from '@rag/generator';
import type { GroupTokenScores } from './teacher-forcing.js';

/**
 * Negative log-likelihoods of label sequences, as HF's get_nll computes them (targets are labels shifted
 * left; positions whose target is <pad> contribute 0). With label smoothing ε:
 *   loss = (1-ε)·nll + (ε/V)·smooth,   smooth = -Σ_t Σ_v log p(v|…)   (marginalised the same way as nll).
 */

/**
 * RAG-Token (RagTokenForGeneration.get_nll): the marginal is taken per token,
 *   log p(y|x) = Σ_t logsumexp_z( log p(z|x) + log p(y_t | x, z, y<t) )
 * returns loss and the per-step marginal log-probs [T] (0 at pad targets).
 */
export function ragTokenNll(s: GroupTokenScores, target: readonly number[], pad: number, epsilon = 0, vocabSize = 1): { loss: number; stepMarginal: number[] } {
  const stepMarginal = target.map((y, t) => (y === pad ? 0 : s.marginalLl![t]!));
  const nll = -stepMarginal.reduce((a, b) => a + b, 0);
  if (epsilon === 0) return { loss: nll, stepMarginal };
  const smooth = -target.reduce((acc, y, t) => acc + (y === pad ? 0 : s.marginalVocabSum![t]!), 0);
  return { loss: (1 - epsilon) * nll + (epsilon / vocabSize) * smooth, stepMarginal };
}

/**
 * RAG-Sequence (RagSequenceForGeneration.get_nll): the document is fixed for the whole sequence,
 *   log p(y|x) = logsumexp_z( log p(z|x) + Σ_t log p(y_t | x, z, y<t) )
 * HF adds log p(z|x) at target position 1 (not 0, so it survives BOS exclusion); a pad there drops it.
 * excludeBos (HF exclude_bos_score, effective only when every row's first target is BOS — the caller
 * decides that over the batch) drops position 0 from the likelihood but not from the smoothing term.
 * returns loss and docLoglik [K] = the terms the logsumexp runs over.
 */
export function ragSequenceNll(
  s: GroupTokenScores,
  logPrior: readonly number[],
  target: readonly number[],
  pad: number,
  opts: { excludeBos?: boolean; epsilon?: number; vocabSize?: number } = {},
): { loss: number; docLoglik: number[] } {
  const K = logPrior.length;
  const eps = opts.epsilon ?? 0;
  const V = opts.vocabSize ?? 1;
  const docLoglik: number[] = [];
  const docSmooth: number[] = [];
  for (let z = 0; z < K; z++) {
    let ll = 0;
    let smooth = 0;
    for (let t = 0; t < target.length; t++) {
      if (target[t] === pad) continue;
      const prior = t === 1 ? logPrior[z]! : 0;
      if (!(opts.excludeBos && t === 0)) ll += s.ll[z]![t]! + prior;
      if (eps !== 0) smooth += s.vocabSum![z]![t]! + V * prior;
    }
    docLoglik.push(ll);
    docSmooth.push(smooth);
  }
  const nll = -logSumExp(docLoglik);
  if (eps === 0) return { loss: nll, docLoglik };
  return { loss: (1 - eps) * nll + (eps / V) * -logSumExp(docSmooth), docLoglik };
}
