import { test } from 'node:test';
import assert from 'node:assert/strict';
import { logSoftmax } from '@rag/generator';
import { contextString } from './context-inputs.js';
import { docLogPrior, innerProducts, topKIndices } from './doc-scores.js';
import { cumulativeDocPosteriors, docTokenLogprob, marginalizeNextToken, tokenDocPosterior } from './marginalize.js';
import { ragSequenceNll, ragTokenNll } from './nll.js';

const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('doc scores are inner products; top-K is by score, ties to the lower index', () => {
  const q = [1, 2];
  const p = [1, 0, 0, 1, 1, 1, 0, 1];
  assert.deepEqual(innerProducts(q, p, 2), [1, 2, 3, 2]);
  assert.deepEqual(topKIndices([1, 2, 3, 2], 3), [2, 1, 3]);
  const lp = docLogPrior([1, 2, 3]);
  close(lp.reduce((a, b) => a + Math.exp(b), 0), 1);
  close(lp[2]! - lp[1]!, 1);
});

test('context strings: HF postprocess_docs joins title / text // question, strips title quotes, halves double spaces', () => {
  assert.equal(contextString('Paris', 'Capital of France.', 'where?'), 'Paris / Capital of France. // where?');
  assert.equal(contextString('"Heroes"', 'A song.', 'q'), 'Heroes / A song. // q');
  assert.equal(contextString('"A" B"', 't', 'q'), 'A" B / t // q', 'one quote off each end, no more');
  assert.equal(contextString('T', 'a  b   c', 'q'), 'T / a b  c // q', "one left-to-right pass, like Python's replace");
  assert.equal(contextString('T', 'x', 'q', { prefix: 'question: ', titleSep: ' | ', docSep: ' || ' }), 'question: T | x || q');
});

test('RAG-Token marginal: logsumexp_z(log p(z|x) + log p(y|x,z)); one document = its own log-softmax', () => {
  const V = 3;
  const K = 2;
  const logits = Float32Array.from([1, 2, 3, 3, 2, 1]);
  const prior = [Math.log(0.25), Math.log(0.75)];
  const { marginal: m, norms } = marginalizeNextToken(logits, [prior], K, V);
  const p0 = logSoftmax([1, 2, 3]).map(Math.exp);
  const p1 = logSoftmax([3, 2, 1]).map(Math.exp);
  for (let v = 0; v < V; v++) close(m[v]!, Math.log(0.25 * p0[v]! + 0.75 * p1[v]!), 1e-6);
  close([...m].reduce((a, b) => a + Math.exp(b), 0), 1, 1e-6);
  // per-document log-softmax entries, computed on demand from each row's normaliser
  for (let v = 0; v < V; v++) {
    close(docTokenLogprob(logits, norms, V, 0, v), Math.log(p0[v]!), 1e-6);
    close(docTokenLogprob(logits, norms, V, 1, v), Math.log(p1[v]!), 1e-6);
  }
  const single = marginalizeNextToken(Float32Array.from([1, 2, 3]), [[0]], 1, V).marginal;
  logSoftmax([1, 2, 3]).forEach((v, i) => close(single[i]!, v, 1e-6));
});

test('document posteriors: per token under RAG-Token, cumulative under RAG-Sequence; rows sum to 1', () => {
  const prior = [Math.log(0.5), Math.log(0.5)];
  const post = tokenDocPosterior(prior, [Math.log(0.9), Math.log(0.1)]);
  close(post[0]!, 0.9);
  close(post[1]!, 0.1);
  // Two tokens each favouring doc 0 by 9:1 → after both, 81:1.
  const cum = cumulativeDocPosteriors(prior, [
    [Math.log(0.9), Math.log(0.9)],
    [Math.log(0.1), Math.log(0.1)],
  ]);
  close(cum[0]![0]!, 0.9);
  close(cum[1]![0]!, 81 / 82);
  // A document with prior -Infinity (fast decoding: did not produce y) stays at 0.
  const fast = cumulativeDocPosteriors([0, -Infinity], [[-1], [-Infinity]]);
  assert.deepEqual(fast, [[1, 0]]);
});

test('RAG-Sequence NLL: prior added at target position 1, pads masked, BOS exclusion drops position 0', () => {
  const pad = 1;
  const prior = [Math.log(0.5), Math.log(0.5)];
  // targets: <s>=0, 7, </s>=2, pad
  const target = [0, 7, 2, pad];
  const ll = [
    [-0.1, -1, -2, -50],
    [-0.2, -3, -4, -50],
  ];
  const withBos = ragSequenceNll({ ll }, prior, target, pad);
  close(withBos.docLoglik[0]!, -0.1 - 1 - 2 + Math.log(0.5));
  close(withBos.loss, -Math.log(Math.exp(withBos.docLoglik[0]!) + Math.exp(withBos.docLoglik[1]!)));
  const noBos = ragSequenceNll({ ll }, prior, target, pad, { excludeBos: true });
  close(noBos.docLoglik[1]!, -3 - 4 + Math.log(0.5));
  // A one-token target: position 1 is <pad>, so HF loses the prior there.
  const one = ragSequenceNll({ ll: [[-0.5, -9], [-0.7, -9]] }, prior, [2, pad], pad);
  assert.deepEqual(one.docLoglik, [-0.5, -0.7]);
  // Label smoothing mixes in the vocabulary sums (prior counted V times at position 1).
  const V = 10;
  const vocabSum = [
    [-30, -40, -50, 0],
    [-31, -41, -51, 0],
  ];
  const sm = ragSequenceNll({ ll, vocabSum }, prior, target, pad, { epsilon: 0.1, vocabSize: V });
  const smooth = -Math.log(Math.exp(-30 - 40 - 50 + V * prior[0]!) + Math.exp(-31 - 41 - 51 + V * prior[1]!));
  close(sm.loss, 0.9 * withBos.loss + (0.1 / V) * smooth, 1e-9);
});

test('RAG-Token NLL: minus the sum of per-step marginals over non-pad targets', () => {
  const r = ragTokenNll({ ll: [], marginalLl: [-1, -2, -3, -4] }, [0, 5, 2, 1], 1);
  close(r.loss, 6);
  assert.deepEqual(r.stepMarginal, [-1, -2, -3, 0]);
  const s = ragTokenNll({ ll: [], marginalLl: [-1, -2], marginalVocabSum: [-10, -20] }, [5, 2], 1, 0.2, 4);
  close(s.loss, 0.8 * 3 + (0.2 / 4) * 30);
});
