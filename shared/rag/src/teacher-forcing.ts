import type { EncoderStates, Generator } from '@rag/generator';
import { logSoftmaxRow } from '@rag/generator';

/**
 * What scoring a label sequence needs from one group of K decoder rows (one question × its K documents,
 * all fed the same labels): for every document z and position t,
 *   ll[z][t]       = log p(target_t | x, z, labels_≤t)      (target = labels shifted left, pad appended)
 *   vocabSum[z][t] = Σ_v log p(v | x, z, labels_≤t)         (label smoothing only)
 * and, for RAG-Token, the same two for the marginal log p'(v|…) = logsumexp_z(log p(z|x) + log p(v|x,z,…)).
 */
export interface GroupTokenScores {
  ll: number[][];
  vocabSum?: number[][];
  marginalLl?: number[];
  marginalVocabSum?: number[];
}

/** HF's shift: target = labels[1:] + [pad] (the decoder predicts labels[t+1] at position t). */
export function shiftLeft(labels: readonly number[], pad: number): number[] {
  return [...labels.slice(1), pad];
}

export interface TeacherForcingRequest {
  /** decoder row r = g*K + z reads encoder row encRows[r] */
  encRows: readonly number[];
  /** one label row per group (all K rows of group g read labels[g]) */
  labels: readonly (readonly number[])[];
  K: number;
  /** [group][K] log p(z|x); needed when `marginal` is set */
  logPrior?: readonly (readonly number[])[];
  marginal?: boolean;
  vocabSums?: boolean;
}

/**
 * Runs the decoder over whole label sequences — HF passes `labels` as `decoder_input_ids`, no cache —
 * in chunks of whole groups (bounded memory: a chunk's logits are rows × T × V floats), and reduces
 * each group's logits to GroupTokenScores right away.
 */
export async function teacherForce(gen: Generator, enc: EncoderStates, req: TeacherForcingRequest, maxChunkFloats = 8_000_000): Promise<GroupTokenScores[]> {
  const { K, labels } = req;
  const V = gen.vocabSize;
  const pad = gen.config.padTokenId;
  const out: GroupTokenScores[] = [];
  const T = Math.max(...labels.map((l) => l.length));
  const groupsPerChunk = Math.max(1, Math.floor(maxChunkFloats / (K * T * V)));
  for (let g0 = 0; g0 < labels.length; g0 += groupsPerChunk) {
    const g1 = Math.min(labels.length, g0 + groupsPerChunk);
    const rows: number[][] = [];
    for (let g = g0; g < g1; g++) {
      const l = [...labels[g]!, ...new Array<number>(T - labels[g]!.length).fill(pad)];
      for (let z = 0; z < K; z++) rows.push(l);
    }
    const state = gen.startDecoding(enc, req.encRows.slice(g0 * K, g1 * K));
    const res = await gen.decodeStep(state, rows);
    const lp = new Float32Array(res.logits.length);
    for (let r = 0; r < rows.length * T; r++) logSoftmaxRow(res.logits, r * V, V, lp);
    for (let g = g0; g < g1; g++) {
      const target = shiftLeft(labels[g]!, pad).concat(new Array<number>(T - labels[g]!.length).fill(pad));
      const base = (g - g0) * K;
      const s: GroupTokenScores = { ll: [] };
      for (let z = 0; z < K; z++) {
        const row = (base + z) * T * V;
        s.ll.push(target.map((y, t) => lp[row + t * V + y]!));
        if (req.vocabSums) {
          const sums: number[] = [];
          for (let t = 0; t < T; t++) {
            let acc = 0;
            for (let v = 0; v < V; v++) acc += lp[row + t * V + v]!;
            sums.push(acc);
          }
          (s.vocabSum ??= []).push(sums);
        }
      }
      if (req.marginal) {
        const prior = req.logPrior![g]!;
        s.marginalLl = [];
        if (req.vocabSums) s.marginalVocabSum = [];
        const terms = new Float64Array(K);
        for (let t = 0; t < T; t++) {
          let vocabAcc = 0;
          const vFrom = req.vocabSums ? 0 : target[t]!;
          const vTo = req.vocabSums ? V : target[t]! + 1;
          for (let v = vFrom; v < vTo; v++) {
            let max = -Infinity;
            for (let z = 0; z < K; z++) {
              terms[z] = prior[z]! + lp[(base + z) * T * V + t * V + v]!;
              if (terms[z]! > max) max = terms[z]!;
            }
            let e = 0;
            for (let z = 0; z < K; z++) e += Math.exp(terms[z]! - max);
            const m = max + Math.log(e);
            vocabAcc += m;
            if (v === target[t]) s.marginalLl.push(m);
          }
          if (req.vocabSums) s.marginalVocabSum!.push(vocabAcc);
        }
      }
      out.push(s);
    }
  }
  return out;
}
