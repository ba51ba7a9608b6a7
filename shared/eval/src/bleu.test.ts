// Proves bleu.ts is sacrebleu's BLEU-1 (13a tokens, brevity penalty, clipping, multi-reference, corpus sums): same
// tokens and counts, and scores within 5e-5 on sacrebleu's 0-100 scale, on test/fixtures/text-metrics-reference.json.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { bleu1FromStats, bleu1Stats, corpusBleu1, pythonSplit, sentenceBleu1, tokenize13a, type Bleu1Score } from './bleu.js';

interface RefBleu { score: number; matches: number; hypLen: number; refLen: number; bp: number }
interface Fixture {
  generator: Record<string, string>;
  tokens: { text: string; bleu13a: string; bleu13aLowercase: string }[];
  sentences: { id: string; hypothesis: string; references: string[]; bleu: RefBleu; bleuLowercase: RefBleu }[];
  corpora: { id: string; cases: string[]; bleu: RefBleu; bleuLowercase: RefBleu }[];
}

const fixture = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/text-metrics-reference.json', import.meta.url), 'utf8'),
) as Fixture;
const TOLERANCE = 5e-5; // four decimal places, on sacrebleu's 0-100 scale

function assertMatches(ours: Bleu1Score, ref: RefBleu, what: string): number {
  assert.deepEqual([ours.matches, ours.hypLen, ours.refLen], [ref.matches, ref.hypLen, ref.refLen], `${what}: statistics`);
  const diff = Math.max(Math.abs(100 * ours.score - ref.score), Math.abs(ours.bp - ref.bp));
  assert.ok(diff < TOLERANCE, `${what}: score ${100 * ours.score} vs sacrebleu ${ref.score}`);
  return diff;
}

describe('13a tokenizer', () => {
  it('splits every fixture string exactly as sacrebleu does, cased and lowercased', () => {
    assert.ok(fixture.tokens.length >= 40);
    for (const t of fixture.tokens) {
      assert.deepEqual(tokenize13a(t.text), pythonSplit(t.bleu13a), JSON.stringify(t.text));
      assert.deepEqual(tokenize13a(t.text, { lowercase: true }), pythonSplit(t.bleu13aLowercase), JSON.stringify(t.text));
    }
  });

  it('keeps decimals, thousands, apostrophes and inner hyphens; isolates other ASCII symbols', () => {
    assert.deepEqual(tokenize13a('It cost $1,000.50, up 3.5%.'), ['It', 'cost', '$', '1,000.50', ',', 'up', '3.5', '%', '.']);
    assert.deepEqual(tokenize13a("don't state-of-the-art 1990-2000"), ["don't", 'state-of-the-art', '1990', '-', '2000']);
    assert.deepEqual(tokenize13a('Tom &amp; Jerry &lt;3'), ['Tom', '&', 'Jerry', '<', '3']);
  });

  it('uses Python\'s whitespace: U+FEFF and U+200B stay inside a token, U+0085 and U+001C separate', () => {
    assert.deepEqual(tokenize13a('a\ufeffb c\u200bd e\x85f g\x1ch'), ['a\ufeffb', 'c\u200bd', 'e', 'f', 'g', 'h']);
    assert.deepEqual(tokenize13a(''), []);
  });
});

describe('BLEU-1 against sacrebleu', () => {
  it('sentence scores agree on every case, cased and lowercased', (t) => {
    let max = 0;
    for (const s of fixture.sentences) {
      max = Math.max(max, assertMatches(sentenceBleu1(s.hypothesis, s.references), s.bleu, s.id));
      max = Math.max(max, assertMatches(sentenceBleu1(s.hypothesis, s.references, { lowercase: true }), s.bleuLowercase, `${s.id} (lowercase)`));
    }
    t.diagnostic(`max |diff| vs sacrebleu ${fixture.generator.sacrebleu}, sentence level (0-100 scale): ${max}`);
  });

  it('corpus scores agree, with variable numbers of references per item', (t) => {
    const byId = new Map(fixture.sentences.map((s) => [s.id, s]));
    let max = 0;
    for (const c of fixture.corpora) {
      const items = c.cases.map((id) => byId.get(id)!).map((s) => ({ hypothesis: s.hypothesis, references: s.references }));
      max = Math.max(max, assertMatches(corpusBleu1(items), c.bleu, c.id));
      max = Math.max(max, assertMatches(corpusBleu1(items, { lowercase: true }), c.bleuLowercase, `${c.id} (lowercase)`));
    }
    t.diagnostic(`max |diff| vs sacrebleu ${fixture.generator.sacrebleu}, corpus level (0-100 scale): ${max}`);
  });
});

describe('BLEU-1 behaviour', () => {
  it('clips repeated words to their count in the best reference', () => {
    const s = sentenceBleu1('the the the the', ['the cat', 'the the mat']);
    assert.equal(s.matches, 2);
    assert.equal(s.precision, 0.5);
    assert.equal(s.bp, 1); // closest reference length 3 < 4
    assert.equal(s.score, 0.5);
  });

  it('penalises short output against the closest reference, the shorter on a tie', () => {
    const s = sentenceBleu1('a b', ['a b c d e', 'a b c']);
    assert.equal(s.refLen, 3);
    assert.ok(Math.abs(s.score - Math.exp(1 - 3 / 2)) < 1e-12);
    assert.equal(bleu1Stats('one two three', ['one two', 'one two three four']).refLen, 2);
  });

  it('is case-sensitive unless asked', () => {
    assert.equal(sentenceBleu1('PARIS', ['Paris']).score, 0);
    assert.equal(sentenceBleu1('PARIS', ['Paris'], { lowercase: true }).score, 1);
  });

  it('scores 0 for an empty hypothesis or no overlap, and refuses an item without references', () => {
    assert.equal(sentenceBleu1('', ['a b']).score, 0);
    assert.equal(sentenceBleu1('x y', ['a b']).score, 0);
    assert.equal(corpusBleu1([]).score, 0);
    assert.throws(() => sentenceBleu1('a', []), RangeError);
  });

  it('sums statistics over a corpus instead of averaging sentence scores', () => {
    const items = [{ hypothesis: 'a b c d', references: ['a b c d'] }, { hypothesis: 'x', references: ['y z'] }];
    const corpus = corpusBleu1(items);
    assert.deepEqual([corpus.matches, corpus.hypLen, corpus.refLen], [4, 5, 6]);
    assert.ok(Math.abs(corpus.score - Math.exp(1 - 6 / 5) * (4 / 5)) < 1e-12);
    assert.deepEqual(bleu1FromStats({ matches: 4, hypLen: 5, refLen: 6 }), corpus);
  });
});
