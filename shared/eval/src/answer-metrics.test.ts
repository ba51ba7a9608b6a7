import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { answerTokens, exactMatch, f1, normalizeAnswer } from './answer-metrics.js';

const NQ_DEV = '/work/shared/data/nq-open/NQ-open.dev.jsonl';

// The official SQuAD v1.1 evaluate script's functions, verbatim, run by Python itself.
const SQUAD_PY = `
import json, re, string, sys
from collections import Counter
def normalize_answer(s):
    def remove_articles(text): return re.sub(r'\\b(a|an|the)\\b', ' ', text)
    def white_space_fix(text): return ' '.join(text.split())
    def remove_punc(text):
        exclude = set(string.punctuation)
        return ''.join(ch for ch in text if ch not in exclude)
    def lower(text): return text.lower()
    return white_space_fix(remove_articles(remove_punc(lower(s))))
def f1_score(prediction, ground_truth):
    p = normalize_answer(prediction).split(); g = normalize_answer(ground_truth).split()
    common = Counter(p) & Counter(g); num_same = sum(common.values())
    if num_same == 0: return 0
    precision = 1.0 * num_same / len(p); recall = 1.0 * num_same / len(g)
    return (2 * precision * recall) / (precision + recall)
pairs = json.load(sys.stdin)
print(json.dumps([[normalize_answer(a), f1_score(a, b)] for a, b in pairs]))
`;

function python(): string {
  const venv = new URL('../../../services/modelkit/.venv/bin/python', import.meta.url).pathname;
  return existsSync(venv) ? venv : 'python3';
}

describe('SQuAD answer normalisation', () => {
  it('lowercases, drops punctuation and articles, collapses whitespace', () => {
    assert.equal(normalizeAnswer('The Denver Broncos'), 'denver broncos');
    assert.equal(normalizeAnswer('  A  tale of   Two Cities! '), 'tale of two cities');
    assert.equal(normalizeAnswer("he ain't heavy, he's my brother"), 'he aint heavy hes my brother');
    assert.equal(normalizeAnswer('14 December 1972 UTC.'), '14 december 1972 utc');
    assert.equal(normalizeAnswer('Theatre and anthem'), 'theatre and anthem'); // articles only as whole words
    assert.equal(normalizeAnswer('the'), '');
  });

  it('treats word edges as Python 3 does (Unicode letters are word characters, punctuation is ASCII only)', () => {
    assert.equal(normalizeAnswer('Éa'), 'éa'); // 'a' after a letter is not an article
    assert.equal(normalizeAnswer('a–b'), '–b'); // en dash is kept and is a word edge
    assert.equal(normalizeAnswer('Mötley Crüe — the band'), 'mötley crüe — band');
  });

  it('agrees with the official Python script on every NQ-open dev answer', () => {
    const lines = readFileSync(NQ_DEV, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { question: string; answer: string[] });
    assert.equal(lines.length, 3610);
    // Pair each answer with the question's first answer and with the question text: exercises both functions.
    const pairs: [string, string][] = [];
    for (const l of lines) for (const a of l.answer) pairs.push([a, l.answer[0]!], [l.question, a]);
    pairs.push(['Éa the–an', 'an ÉA'], ['a  b\u00a0the\tc', 'the b c']);
    const out = JSON.parse(execFileSync(python(), ['-c', SQUAD_PY], { input: JSON.stringify(pairs), maxBuffer: 64 << 20 }).toString()) as [string, number][];
    assert.equal(out.length, pairs.length);
    let mismatches = 0;
    pairs.forEach(([a, b], i) => {
      const [norm, score] = out[i]!;
      if (normalizeAnswer(a) !== norm || Math.abs(f1(a, [b]) - score) > 1e-12) {
        mismatches++;
        if (mismatches <= 5) console.error({ a, b, ours: [normalizeAnswer(a), f1(a, [b])], python: [norm, score] });
      }
    });
    assert.equal(mismatches, 0);
  });
});

describe('exact match and F1', () => {
  it('EM is 1 when any gold matches after normalisation', () => {
    assert.equal(exactMatch('Denver Broncos', ['Denver Broncos', 'The Denver Broncos']), 1);
    assert.equal(exactMatch('the broncos', ['Denver Broncos']), 0);
    assert.equal(exactMatch('december 1972', ['14 December 1972 UTC', 'December 1972']), 1);
    assert.equal(exactMatch('anything', []), 0);
  });

  it('F1 is token overlap, best over golds', () => {
    // pred {broncos, of, denver} vs gold {denver, broncos}: P = 2/3, R = 1, F1 = 0.8
    assert.equal(f1('the Broncos of Denver', ['Denver Broncos']), 0.8);
    assert.equal(f1('Bobby Scott', ['Bobby Scott', 'Bob Russell']), 1);
    // vs 'Bobby Scott': P = 2/5, R = 1, F1 = 4/7; vs 'Bob Russell': P = 2/5, R = 1, F1 = 4/7.
    assert.ok(Math.abs(f1('Bobby Scott and Bob Russell', ['Bobby Scott', 'Bob Russell']) - 4 / 7) < 1e-12);
    assert.equal(f1('one season', ['one', 'one season']), 1);
    assert.equal(f1('1972', ['December 1972']), 2 / 3);
    assert.equal(f1('', ['x']), 0);
    assert.equal(f1('the', ['a']), 0); // both normalise to nothing: no overlap, as in SQuAD v1.1
    assert.deepEqual(answerTokens('the a an'), []);
  });

  it('counts repeated tokens only as often as the gold has them', () => {
    // pred [new, new, new] vs gold [new, york]: one shared token, P = 1/3, R = 1/2, F1 = 0.4
    assert.ok(Math.abs(f1('new new new', ['New York']) - 0.4) < 1e-12);
  });
});
