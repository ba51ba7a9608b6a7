// Proves q-bleu.ts computes Nema & Khapra's Q-BLEU-1 as documented (word types, answerability from weighted P/R,
// δ-mix with BLEU-1): no reference package exists on PyPI, so each expected value is worked out by hand below.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sentenceBleu1 } from './bleu.js';
import { answerability, classifyWords, DEFAULT_Q_BLEU_WEIGHTS, meanQBleu1, qBleu1 } from './q-bleu.js';

const close = (a: number, b: number, what = '') => assert.ok(Math.abs(a - b) < 1e-12, `${what} ${a} vs ${b}`);

describe('word types', () => {
  it('question words (and the answer type after how/what/which), function words, named entities, the rest', () => {
    const types = classifyWords('How many Oscars did the 1997 film Titanic win?').map((w) => `${w.word}:${w.type}`);
    assert.deepEqual(types, [
      'How:questionWord', 'many:questionWord', 'Oscars:namedEntity', 'did:functionWord', 'the:functionWord',
      '1997:namedEntity', 'film:relevantWord', 'Titanic:namedEntity', 'win:relevantWord',
    ]);
  });

  it('a function word after "what" stays a function word; a capitalised function word is not an entity', () => {
    const types = classifyWords('What is The Hague known for ?').map((w) => w.type);
    assert.deepEqual(types, ['questionWord', 'functionWord', 'functionWord', 'namedEntity', 'relevantWord', 'functionWord']);
  });
});

describe('Q-BLEU-1, hand-worked', () => {
  it('a question with one changed content word and an extra preposition', () => {
    // r: Which(QT) year(QT, after "which") was(F) the(F) Peace(NE) of(F) Westphalia(NE) established(R)
    // c: In(F) which(QT) year(QT) was(F) the(F) Peace(NE) of(F) Westphalia(NE) signed(R)
    // QT: P = 2/2, R = 2/2. NE: P = 2/2, R = 2/2. R: "signed" not in r, "established" not in c: P = 0/1, R = 0/1.
    // F: c has in/was/the/of, "in" not in r: P = 3/4; r's was/the/of all in c: R = 3/3.
    const c = 'In which year was the Peace of Westphalia signed ?';
    const r = 'Which year was the Peace of Westphalia established ?';
    const pAvg = 0.6 * 1 + 0.2 * 1 + 0.1 * 0 + 0.1 * (3 / 4); // 0.875
    const rAvg = 0.6 * 1 + 0.2 * 1 + 0.1 * 0 + 0.1 * 1; // 0.9
    const ans = (2 * pAvg * rAvg) / (pAvg + rAvg); // 63/71
    // BLEU-1 (13a, case kept): c has 10 tokens; "In", "which" (r has "Which") and "signed" miss: 7/10; r has 9, BP 1.
    const bleu = 7 / 10;
    const a = answerability(c, r);
    close(a.precision, pAvg, 'P_avg');
    close(a.recall, rAvg, 'R_avg');
    assert.deepEqual(a.byType.functionWord, { precision: 0.75, recall: 1 });
    close(a.answerability, 63 / 71, 'answerability');
    const q = qBleu1(c, [r]);
    close(q.bleu1, bleu, 'BLEU-1');
    close(q.qBleu1, 0.7 * ans + 0.3 * bleu, 'Q-BLEU-1'); // 0.831126760...
    close(q.qBleu1, 0.8311267605633803, 'Q-BLEU-1 decimal');
  });

  it('a Jeopardy clue that loses its entities: answerability drops where BLEU-1 barely does', () => {
    // r: This(F) Italian(NE) poet(R) wrote(R) the(F) Divine(NE) Comedy(NE)    c: This(F) poet(R) wrote(R) the(F) Inferno(NE)
    // QT: neither has any -> P = R = 1. NE: P = 0/1, R = 0/3. R: P = R = 1. F: P = R = 1.
    const pAvg = 0.6 * 0 + 0.2 * 1 + 0.1 * 1 + 0.1 * 1; // 0.4
    const rAvg = pAvg;
    const ans = (2 * pAvg * rAvg) / (pAvg + rAvg); // 0.4
    const bleu = (4 / 5) * Math.exp(1 - 7 / 5); // 4 of 5 tokens match; 5 < 7 tokens in r
    const q = qBleu1('This poet wrote the Inferno', ['This Italian poet wrote the Divine Comedy']);
    close(q.answerability, ans, 'answerability');
    close(q.bleu1, bleu, 'BLEU-1');
    close(q.qBleu1, 0.7 * 0.4 + 0.3 * bleu, 'Q-BLEU-1'); // 0.440876811...
  });

  it('different questions share only punctuation: answerability 0, BLEU-1 only from "?"', () => {
    // c: Who(QT) wrote(R) Hamlet(NE) ?   r: When(QT) did(F) Rome(NE) fall(R) ?   F only in r -> 0; all others miss.
    const bleu = (1 / 4) * Math.exp(1 - 5 / 4);
    const q = qBleu1('Who wrote Hamlet ?', ['When did Rome fall ?']);
    assert.equal(q.answerability, 0);
    close(q.bleu1, bleu);
    close(q.qBleu1, 0.3 * bleu); // 0.058410058...
  });

  it('an identical question scores 1, including types neither question has', () => {
    const q = qBleu1('what is the capital of france', ['what is the capital of france']);
    assert.deepEqual(q, { qBleu1: 1, answerability: 1, bleu1: 1 });
  });
});

describe('Q-BLEU-1 options and aggregation', () => {
  const c = 'This poet wrote the Inferno', r = 'This Italian poet wrote the Divine Comedy';

  it('δ = 1 is answerability alone, δ = 0 is BLEU-1 alone', () => {
    close(qBleu1(c, [r], { delta: 1 }).qBleu1, 0.4);
    close(qBleu1(c, [r], { delta: 0 }).qBleu1, sentenceBleu1(c, [r]).score);
  });

  it('takes custom weights, which must sum to 1', () => {
    // Weight only on relevant words: both "poet" and "wrote" are shared -> answerability 1.
    const only = { namedEntity: 0, questionWord: 0, relevantWord: 1, functionWord: 0 };
    assert.equal(answerability(c, r, only).answerability, 1);
    assert.throws(() => answerability(c, r, { ...DEFAULT_Q_BLEU_WEIGHTS, namedEntity: 0.7 }), RangeError);
    assert.throws(() => qBleu1(c, [r], { delta: 1.5 }), RangeError);
    assert.throws(() => qBleu1(c, []), RangeError);
  });

  it('scores the best of several references and averages items', () => {
    assert.deepEqual(qBleu1(c, ['Who wrote Hamlet ?', r]), qBleu1(c, [r]));
    const items = [{ candidate: c, references: [r] }, { candidate: 'a b', references: ['a b'] }];
    const mean = meanQBleu1(items)!;
    close(mean.qBleu1, (qBleu1(c, [r]).qBleu1 + 1) / 2);
    close(mean.bleu1, (sentenceBleu1(c, [r]).score + 1) / 2);
    assert.equal(meanQBleu1([]), null);
  });
});
