import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { goldRank, hasAnswer, matchTokens, qaSummarySchema, reportedKs, retrievalHits, summarize } from '@rag/eval';

describe("DPR's has_answer (string match)", () => {
  it('tokenises as DPR: NFD, lowercase, word runs and single visible characters', () => {
    assert.deepEqual(matchTokens('The U.S. in 1969, Apollo-11!'), ['the', 'u', '.', 's', '.', 'in', '1969', ',', 'apollo', '-', '11', '!']);
    assert.deepEqual(matchTokens('Zürich'), ['zu\u0308rich']);
  });

  it('needs the answer tokens contiguous and whole, case- and accent-form-insensitive', () => {
    const text = 'Eugene Cernan was the last person on the Moon, in December 1972.';
    assert.ok(hasAnswer(text, ['December 1972']));
    assert.ok(hasAnswer(text, ['eugene CERNAN']));
    assert.ok(!hasAnswer(text, ['1972 December']), 'order matters');
    assert.ok(!hasAnswer(text, ['197']), 'no partial tokens');
    assert.ok(!hasAnswer(text, ['Cernan Moon']), 'contiguous');
    assert.ok(hasAnswer('Z\u00fcrich is a city', ['Zu\u0308rich']), 'composed and decomposed forms match');
    assert.ok(!hasAnswer(text, ['']), 'an empty answer matches nothing');
  });

  it('gold rank is the first passage with an answer, null when none has one', () => {
    const passages = ['nothing here', 'still nothing', 'the answer is Paris', 'Paris again'];
    assert.equal(goldRank(passages, ['paris']), 3);
    assert.equal(goldRank(passages, ['London', 'nothing']), 1);
    assert.equal(goldRank(passages, ['Rome']), null);
  });
});

describe('hits@K', () => {
  it('reports DPR K values up to the K retrieved, and that K', () => {
    assert.deepEqual(reportedKs(1), [1]);
    assert.deepEqual(reportedKs(5), [1, 5]);
    assert.deepEqual(reportedKs(20), [1, 5, 20]);
    assert.deepEqual(reportedKs(10), [1, 5, 10]);
    assert.deepEqual(reportedKs(100), [1, 5, 20, 100]);
  });

  it('is the share of scored questions whose gold rank is at most K; records without gold do not count', () => {
    const ranks = [1, 2, 5, 6, 20, null, null, 3];
    const recs = [...ranks.map((gold_rank) => ({ gold_rank, k: 20 })), { k: 20 }];
    const h = retrievalHits(recs)!;
    assert.equal(h.scored, 8);
    assert.equal(h.k, 20);
    assert.deepEqual(h.hits, { 1: 1 / 8, 5: 4 / 8, 20: 6 / 8 });
    assert.equal(retrievalHits([{ k: 5 }]), null);
  });

  it('summarize carries it, and scores no EM for retrieve-only records', () => {
    const rec = (i: number, gold_rank: number | null) => ({
      snapshot: 's', mode: 'retrieve-only', k: 5, answer: '', gold: ['x'], gold_rank, latency_ms: 1 + i,
    });
    const s = qaSummarySchema.parse(summarize([rec(0, 1), rec(1, 4), rec(2, null), rec(3, null)]));
    assert.equal(s.em, null);
    assert.equal(s.scored, 0);
    assert.deepEqual(s.retrieval, { k: 5, scored: 4, hits: { 1: 0.25, 5: 0.5 } });
  });
});

it('GoldCoverage counts the questions whose gold occurs in some passage, exactly as has_answer would', async () => {
  const { GoldCoverage } = await import('@rag/eval');
  const passages = ['Eugene Cernan walked on the Moon in December 1972.', 'The albedo of fresh snow is high.', 'Paris is the capital of France.'];
  const golds = [['December 1972'], ['1972 December'], ['albedo', 'nothing'], ['Berlin'], ['capital of France'], ['197'], []];
  const cov = new GoldCoverage(golds);
  for (const p of passages) cov.add(p);
  const expected = golds.filter((g) => passages.some((p) => hasAnswer(p, g))).length;
  assert.equal(cov.answerable, expected);
  assert.equal(cov.answerable, 3);
  assert.equal(cov.passages, 3);
});
