// Proves rouge-l.ts is rouge-score's ROUGE-L (its tokenizer, LCS precision/recall/F, best-F reference, mean over
// items): same tokens, and scores within 5e-5 of rouge-score on test/fixtures/text-metrics-reference.json.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { lcsLength, meanRougeL, rougeL, rougeLPair, rougeTokenize, type RougeLScore } from './rouge-l.js';

interface Fixture {
  generator: Record<string, string>;
  tokens: { text: string; rouge: string[] }[];
  sentences: { id: string; hypothesis: string; references: string[]; rougeL: RougeLScore; rougeLPerReference: RougeLScore[] }[];
  corpora: { id: string; cases: string[]; rougeLMean: number }[];
}

const fixture = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/text-metrics-reference.json', import.meta.url), 'utf8'),
) as Fixture;
const TOLERANCE = 5e-5; // four decimal places

function maxDiff(ours: RougeLScore, ref: RougeLScore, what: string): number {
  const diff = Math.max(...(['precision', 'recall', 'fmeasure'] as const).map((k) => Math.abs(ours[k] - ref[k])));
  assert.ok(diff < TOLERANCE, `${what}: ${JSON.stringify(ours)} vs rouge-score ${JSON.stringify(ref)}`);
  return diff;
}

describe('ROUGE-L against rouge-score', () => {
  it('tokenises every fixture string as rouge-score does', () => {
    for (const t of fixture.tokens) assert.deepEqual(rougeTokenize(t.text), t.rouge, JSON.stringify(t.text));
  });

  it('agrees per reference and for the best reference of each case', (t) => {
    let max = 0;
    for (const s of fixture.sentences) {
      s.references.forEach((ref, i) => {
        max = Math.max(max, maxDiff(rougeLPair(s.hypothesis, ref), s.rougeLPerReference[i]!, `${s.id} reference ${i}`));
      });
      max = Math.max(max, maxDiff(rougeL(s.hypothesis, s.references), s.rougeL, s.id));
    }
    t.diagnostic(`max |diff| vs rouge-score ${fixture.generator['rouge-score']}, per item: ${max}`);
  });

  it('agrees on the mean F over each corpus', (t) => {
    const byId = new Map(fixture.sentences.map((s) => [s.id, s]));
    let max = 0;
    for (const c of fixture.corpora) {
      const mean = meanRougeL(c.cases.map((id) => byId.get(id)!).map((s) => ({ prediction: s.hypothesis, references: s.references })));
      const diff = Math.abs(mean! - c.rougeLMean);
      assert.ok(diff < TOLERANCE, `${c.id}: ${mean} vs ${c.rougeLMean}`);
      max = Math.max(max, diff);
    }
    t.diagnostic(`max |diff| vs rouge-score ${fixture.generator['rouge-score']}, corpus means: ${max}`);
  });
});

describe('ROUGE-L behaviour', () => {
  it('tokenises to lowercase ASCII letters and digits only', () => {
    assert.deepEqual(rougeTokenize("Café-crème, O'Neil's 3.5%!"), ['caf', 'cr', 'me', 'o', 'neil', 's', '3', '5']);
    assert.deepEqual(rougeTokenize('İzmir'), ['i', 'zmir']); // U+0130 lowercases to i + U+0307, as in Python
  });

  it('counts an in-order subsequence, not contiguous n-grams', () => {
    assert.equal(lcsLength(['a', 'b', 'c', 'd', 'e'], ['a', 'x', 'c', 'e']), 3);
    assert.equal(lcsLength([], ['a']), 0);
    const s = rougeLPair('police killed the gunman', 'the gunman police kill'); // LCS "the gunman"
    assert.deepEqual(s, { precision: 0.5, recall: 0.5, fmeasure: 0.5 });
  });

  it('takes the reference with the highest F, the first on a tie', () => {
    const s = rougeL('a b c d', ['a b x', 'a b c d e f']);
    assert.ok(Math.abs(s.fmeasure - 0.8) < 1e-12);
    assert.deepEqual(s, rougeLPair('a b c d', 'a b c d e f'));
    // Both references give F = 2/3, one through recall, one through precision: the first one's scores are kept.
    const tie = rougeL('a b c d', ['a b', 'a b c d e f g h']);
    assert.deepEqual([tie.precision, tie.recall], [0.5, 1]);
  });

  it('scores 0 for empty text, null for an empty corpus, and refuses no references', () => {
    assert.deepEqual(rougeL('', ['a']), { precision: 0, recall: 0, fmeasure: 0 });
    assert.deepEqual(rougeL('a', ['!!!']), { precision: 0, recall: 0, fmeasure: 0 });
    assert.equal(meanRougeL([]), null);
    assert.throws(() => rougeL('a', []), RangeError);
  });
});
