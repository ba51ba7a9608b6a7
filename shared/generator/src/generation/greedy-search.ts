import type { DecodeOptions } from './decode-options.js';
import { argmaxRow, logSoftmaxRows } from './log-math.js';
import { applyProcessors, buildLogitsProcessors } from './logits-processors.js';
import type { Hypothesis, SearchResult, StepModel } from './step-model.js';

/**
 * Greedy decoding as transformers' `_sample(do_sample=False)`: argmax of the processed raw scores;
 * a row stops at EOS or maxLength and is padded with `<pad>` to the longest row.
 * Finished rows are dropped from the model (transformers keeps computing and discards them).
 */
export async function greedySearch<A>(model: StepModel<A>, batchSize: number, o: DecodeOptions): Promise<SearchResult<A>> {
  const processors = buildLogitsProcessors(o);
  const V = model.vocabSize;
  const hyps: Hypothesis<A>[] = Array.from({ length: batchSize }, () => ({
    tokens: [o.decoderStartTokenId],
    score: 0,
    transitionScores: [],
    annotations: [],
  }));
  let active = hyps.map((_, b) => b);
  while (active.length > 0) {
    const seqs = active.map((b) => hyps[b]!.tokens);
    const raw = await model.next(seqs);
    const processed = raw.slice();
    applyProcessors(processors, seqs, processed, V);
    // The transition score is what beam search would record: processors over log-softmax.
    const lp = logSoftmaxRows(raw, V);
    applyProcessors(processors, seqs, lp, V);
    const keep: number[] = [];
    for (let r = 0; r < active.length; r++) {
      const h = hyps[active[r]!]!;
      const token = argmaxRow(processed, r * V, V);
      const ts = lp[r * V + token]!;
      h.tokens.push(token);
      h.transitionScores.push(ts);
      h.score += ts;
      if (model.annotate) h.annotations.push(model.annotate(r, token));
      const done = o.eosTokenIds.includes(token) || h.tokens.length >= o.maxLength;
      if (!done) keep.push(r);
    }
    if (keep.length === 0) break;
    if (keep.length < active.length) model.reorder(keep);
    active = keep.map((r) => active[r]!);
  }
  const width = Math.max(...hyps.map((h) => h.tokens.length));
  return {
    hypotheses: hyps.map((h) => [h]),
    sequences: hyps.map((h) => h.tokens.concat(new Array<number>(width - h.tokens.length).fill(o.padTokenId))),
  };
}
