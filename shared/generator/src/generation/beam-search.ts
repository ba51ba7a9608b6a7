import type { DecodeOptions } from './decode-options.js';
import { logSoftmaxRow } from './log-math.js';
import { applyProcessors, buildLogitsProcessors } from './logits-processors.js';
import type { Hypothesis, SearchResult, StepModel } from './step-model.js';

/**
 * Beam search with transformers 4.57's semantics (`GenerationMixin._beam_search`, the vectorised
 * rewrite). Per batch item and step:
 *   1. scores = processors(log_softmax(raw)) + running beam score, over num_beams × vocab;
 *   2. keep the top `beamsToKeep = max(2, 1 + #eos) × num_beams` candidates;
 *   3. candidates ending in EOS (or reaching maxLength) are "finished": among the top num_beams of them,
 *      each may enter the finished pool with score / (generated length ^ length_penalty);
 *   4. the best num_beams unfinished candidates keep running;
 *   5. with early_stopping=False the item stops when its best running beam, normalised by the current
 *      length, can no longer beat the worst finished hypothesis (transformers' heuristic, not exact).
 * Scores are float32 as in PyTorch; "excluded" entries get -1e9 added exactly as transformers adds it,
 * so ties and orderings come out the same. Finished items are dropped from the model (transformers
 * keeps computing them but their results cannot change).
 */

const NEG = -1.0e9;
const f32 = Math.fround;

interface Beam<A> {
  tokens: number[];
  /** accumulated processed log-prob (float32), incl. -1e9 penalties as transformers carries them */
  score: number;
  transitionScores: number[];
  annotations: A[];
}

interface Slot<A> extends Beam<A> {
  finished: boolean;
}

interface Item<A> {
  running: Beam<A>[];
  slots: Slot<A>[];
  /** transformers' is_early_stop_heuristic_unsatisfied */
  improvable: boolean;
}

interface Candidate {
  beam: number;
  token: number;
  score: number;
}

/** Top-k of a [beams, vocab] block by value, ties to the lower flat index. */
function topK(scores: Float32Array, k: number): Candidate[] {
  const vals: number[] = [];
  const idx: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    const v = scores[i]!;
    if (vals.length === k && !(v > vals[k - 1]!)) continue;
    let j = Math.min(vals.length, k - 1);
    while (j > 0 && v > vals[j - 1]!) j--;
    vals.splice(j, 0, v);
    idx.splice(j, 0, i);
    if (vals.length > k) {
      vals.pop();
      idx.pop();
    }
  }
  return idx.map((i, n) => ({ beam: -1, token: i, score: vals[n]! }));
}

/** Indices of the n largest values (stable: earlier index first on ties), as torch.topk on a short row. */
function topIndices(values: readonly number[], n: number): number[] {
  return values
    .map((v, i) => [v, i] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1])
    .slice(0, n)
    .map(([, i]) => i);
}

function extend<A>(b: Beam<A>, token: number, ts: number, ann: A | undefined, hasAnn: boolean): Omit<Beam<A>, 'score'> {
  return {
    tokens: [...b.tokens, token],
    transitionScores: [...b.transitionScores, ts],
    annotations: hasAnn ? [...b.annotations, ann as A] : b.annotations,
  };
}

export async function beamSearch<A>(model: StepModel<A>, batchSize: number, o: DecodeOptions): Promise<SearchResult<A>> {
  const nb = o.numBeams;
  const V = model.vocabSize;
  const processors = buildLogitsProcessors(o);
  const beamsToKeep = Math.max(2, 1 + o.eosTokenIds.length) * nb;
  const promptLen = 1;
  const hasAnn = typeof model.annotate === 'function';
  const start = (): Beam<A> => ({ tokens: [o.decoderStartTokenId], score: 0, transitionScores: [], annotations: [] });

  // Only the first beam starts live, so the first step does not pick the same token num_beams times.
  const items: Item<A>[] = Array.from({ length: batchSize }, () => ({
    running: Array.from({ length: nb }, (_, j) => ({ ...start(), score: j === 0 ? 0 : NEG })),
    slots: Array.from({ length: nb }, () => ({ ...start(), score: NEG, finished: false })),
    improvable: true,
  }));
  let active = items.map((_, b) => b);
  let curLen = promptLen;

  while (active.length > 0) {
    const seqs = active.flatMap((b) => items[b]!.running.map((r) => r.tokens));
    const raw = await model.next(seqs);
    const lp = new Float32Array(raw.length);
    for (let r = 0; r < seqs.length; r++) logSoftmaxRow(raw, r * V, V, lp);
    applyProcessors(processors, seqs, lp, V);

    const src: number[] = [];
    const stillActive: number[] = [];
    for (let ai = 0; ai < active.length; ai++) {
      const item = items[active[ai]!]!;
      // (b) accumulated scores of every continuation of this item's beams
      const acc = new Float32Array(nb * V);
      for (let j = 0; j < nb; j++) {
        const base = (ai * nb + j) * V;
        const s = item.running[j]!.score;
        for (let v = 0; v < V; v++) acc[j * V + v] = s + lp[base + v]!;
      }
      // (c) top-K continuations
      const cands = topK(acc, beamsToKeep).map((c) => ({ beam: Math.floor(c.token / V), token: c.token % V, score: c.score }));
      // (d) which of them stop here
      const hits = cands.map((c) => o.eosTokenIds.includes(c.token) || curLen + 1 >= o.maxLength);
      const ann = cands.map((c) => (hasAnn ? model.annotate!(ai * nb + c.beam, c.token) : undefined));
      const grown = cands.map((c, k) => {
        const parent = item.running[c.beam]!;
        return extend(parent, c.token, lp[(ai * nb + c.beam) * V + c.token]!, ann[k], hasAnn);
      });
      // (e) next running beams: finished candidates pushed down by -1e9
      const runScores = cands.map((c, k) => (hits[k] ? f32(c.score + NEG) : c.score));
      const nextIdx = topIndices(runScores, nb);
      // (f) finished pool: only the top num_beams candidates may enter, length-penalised
      const allFinished = item.slots.every((s) => s.finished);
      const denom = f32((curLen + 1 - promptLen) ** o.lengthPenalty);
      const fresh: Slot<A>[] = cands.map((c, k) => {
        let s = f32(c.score / denom);
        if (allFinished && o.earlyStopping === true) s = f32(s + NEG);
        if (!item.improvable) s = f32(s + NEG);
        const justFinished = hits[k]! && k < nb;
        if (!justFinished) s = f32(s + NEG);
        return { ...grown[k]!, score: s, finished: justFinished };
      });
      const merged = [...item.slots, ...fresh];
      item.slots = topIndices(
        merged.map((s) => s.score),
        nb,
      ).map((i) => merged[i]!);
      item.running = nextIdx.map((k) => ({ ...grown[k]!, score: runScores[k]! }));

      // (g) early-stop heuristic on the new length
      const newLen = curLen + 1;
      if (item.improvable) {
        const hypoLen = o.earlyStopping === 'never' && o.lengthPenalty > 0 ? o.maxLength - promptLen : newLen - promptLen;
        const best = f32(item.running[0]!.score / f32(hypoLen ** o.lengthPenalty));
        const worst = Math.min(...item.slots.map((s) => s.score));
        item.improvable = item.slots.some((s) => best > (s.finished ? worst : NEG));
      }
      const done =
        !item.improvable || (o.earlyStopping === true && item.slots.every((s) => s.finished)) || newLen >= o.maxLength;
      if (!done) {
        stillActive.push(active[ai]!);
        for (const k of nextIdx) src.push(ai * nb + cands[k]!.beam);
      }
    }
    curLen++;
    active = stillActive;
    if (active.length > 0) model.reorder(src);
  }

  const fill = o.padTokenId || o.eosTokenIds[0]!;
  const hypotheses: Hypothesis<A>[][] = items.map((it) =>
    it.slots.slice(0, o.numReturnSequences).map((s) => ({
      tokens: s.tokens,
      score: s.score,
      transitionScores: s.transitionScores,
      annotations: s.annotations,
    })),
  );
  const width = Math.max(...hypotheses.flat().map((h) => h.tokens.length));
  return {
    hypotheses,
    sequences: hypotheses.flat().map((h) => h.tokens.concat(new Array<number>(width - h.tokens.length).fill(fill))),
  };
}
