/**
 * Q-BLEU-1, the RAG paper's second Jeopardy question-generation metric (Nema & Khapra 2018, "Towards a Better
 * Metric for Evaluating Question Generation Systems"). BLEU rewards any shared word equally; a question is only
 * answerable if it keeps the words that pin the answer down, so Q-BLEU mixes BLEU-1 with an answerability score:
 *
 *   Q-BLEU-1 = δ · Answerability + (1 − δ) · BLEU-1
 *   Answerability = 2 · P_avg · R_avg / (P_avg + R_avg)
 *   P_avg = Σ_i w_i · |{x ∈ l_i(c) : x occurs in r}| / |l_i(c)|
 *   R_avg = Σ_i w_i · |{x ∈ l_i(r) : x occurs in c}| / |l_i(r)|
 *
 * c = generated question, r = reference, l_i(q) = the words of q of type i, for the four types of the paper:
 * named entities (NE), question words (QT), function words (F) and relevant content words (R), Σ_i w_i = 1.
 *
 * Choices where the paper leaves room (docs/question-answering.md, "Metrics of the paper's other tasks"):
 * - Weights and δ: the paper tunes them per dataset against human judgements and the RAG paper does not say which
 *   it used; the defaults are the ones in the usage example of the authors' released script (w_NE 0.6, w_QT 0.2,
 *   w_R 0.1, w_F = 1 − the others = 0.1, δ 0.7). Both are options.
 * - Word types without an NLP model: tokens are 13a tokens with a letter or digit (punctuation is no type). In
 *   order: what/which/who/whom/whose/where/when/why/how are question words, and so is the word right after
 *   what/which/how unless it is a function word (the answer type: "which year", "how many"); a word in
 *   FUNCTION_WORDS is a function word; a word that starts with a capital letter or contains a digit is a named
 *   entity (so a capitalised first word that is neither is one too, as in the authors' script); the rest are
 *   relevant content words.
 * - "Occurs in": the word, lowercased, is among the other question's lowercased tokens, whatever their type
 *   (each occurrence in l_i counts once, as the paper's indicator h_i does; no clipping).
 * - A type neither question has scores 1 in both P and R (nothing to miss); a type only one has scores 0 in both.
 * - The authors' script differs from the paper's formula (it takes a per-type BLEU-1 F-score and sums those with
 *   the weights); this follows the paper.
 * - BLEU-1 is sentence-level BLEU-1 (bleu.ts, sacrebleu's 13a tokens, in [0, 1]). With several references the item
 *   scores its best reference. A corpus score is the mean of the item scores.
 */
import { sentenceBleu1, tokenize13a } from './bleu.js';

export type WordType = 'namedEntity' | 'questionWord' | 'relevantWord' | 'functionWord';

export type QBleuWeights = Record<WordType, number>;

export const DEFAULT_Q_BLEU_WEIGHTS: Readonly<QBleuWeights> = {
  namedEntity: 0.6,
  questionWord: 0.2,
  relevantWord: 0.1,
  functionWord: 0.1,
};

export const DEFAULT_Q_BLEU_DELTA = 0.7;

const WORD_TYPES: readonly WordType[] = ['namedEntity', 'questionWord', 'relevantWord', 'functionWord'];

export const QUESTION_WORDS: ReadonlySet<string> = new Set(['what', 'which', 'who', 'whom', 'whose', 'where', 'when', 'why', 'how']);

// Words whose next word names the answer's type ("which year", "how many").
const ANSWER_TYPE_HEADS: ReadonlySet<string> = new Set(['what', 'which', 'how']);

/** English function words (articles, pronouns, prepositions, conjunctions, auxiliaries, common particles). */
export const FUNCTION_WORDS: ReadonlySet<string> = new Set(
  (
    'a an the this that these those some any each every no other such own same ' +
    'i me my mine myself we us our ours ourselves you your yours yourself yourselves he him his himself ' +
    'she her hers herself it its itself they them their theirs themselves ' +
    'of in on at by for with without from to into onto upon about above below over under between among through ' +
    'during before after since until till against across along around behind beyond near off out up down via per ' +
    'and or but nor so yet if than then because while although though as whether ' +
    'is am are was were be been being do does did doing done have has had having ' +
    'will would shall should can could may might must ' +
    'not very too also just only both either neither all more most few there here now once again further ' +
    "don't doesn't didn't isn't aren't wasn't weren't can't won't it's that's there's"
  ).split(' '),
);

const HAS_WORD_CHAR = /[\p{L}\p{N}]/u;
const CAPITALISED = /^[\p{Lu}\p{Lt}]/u;
const HAS_DIGIT = /\p{N}/u;

export interface TypedWord {
  word: string;
  type: WordType;
}

/** The question's words with their types (see the header for the rules). */
export function classifyWords(question: string): TypedWord[] {
  const tokens = tokenize13a(question).filter((t) => HAS_WORD_CHAR.test(t));
  return tokens.map((word, i) => {
    const lower = word.toLowerCase();
    const prev = i > 0 ? tokens[i - 1]!.toLowerCase() : '';
    let type: WordType;
    if (QUESTION_WORDS.has(lower)) type = 'questionWord';
    else if (FUNCTION_WORDS.has(lower)) type = 'functionWord';
    else if (ANSWER_TYPE_HEADS.has(prev)) type = 'questionWord';
    else if (CAPITALISED.test(word) || HAS_DIGIT.test(word)) type = 'namedEntity';
    else type = 'relevantWord';
    return { word, type };
  });
}

/** Share of `words` that occur (lowercased) in `other`; `bothEmpty` decides 0/0. */
function coverage(words: readonly string[], other: ReadonlySet<string>, bothEmpty: boolean): number {
  if (words.length === 0) return bothEmpty ? 1 : 0;
  let hit = 0;
  for (const w of words) if (other.has(w.toLowerCase())) hit++;
  return hit / words.length;
}

export interface AnswerabilityScore {
  /** Harmonic mean of P_avg and R_avg, in [0, 1]. */
  answerability: number;
  precision: number;
  recall: number;
  /** Per type: the share of the candidate's (P) and the reference's (R) words of that type found in the other. */
  byType: Record<WordType, { precision: number; recall: number }>;
}

function checkWeights(weights: Readonly<QBleuWeights>): void {
  const sum = WORD_TYPES.reduce((s, t) => s + weights[t], 0);
  if (WORD_TYPES.some((t) => !(weights[t] >= 0)) || Math.abs(sum - 1) > 1e-9) {
    throw new RangeError(`Q-BLEU weights must be non-negative and sum to 1 (got ${sum})`);
  }
}

/** Nema & Khapra's answerability of a generated question against one reference question. */
export function answerability(candidate: string, reference: string, weights: Readonly<QBleuWeights> = DEFAULT_Q_BLEU_WEIGHTS): AnswerabilityScore {
  checkWeights(weights);
  const c = classifyWords(candidate), r = classifyWords(reference);
  const cSet = new Set(c.map((x) => x.word.toLowerCase())), rSet = new Set(r.map((x) => x.word.toLowerCase()));
  const byType = {} as AnswerabilityScore['byType'];
  let precision = 0, recall = 0;
  for (const type of WORD_TYPES) {
    const cw = c.filter((x) => x.type === type).map((x) => x.word);
    const rw = r.filter((x) => x.type === type).map((x) => x.word);
    const bothEmpty = cw.length === 0 && rw.length === 0;
    const t = { precision: coverage(cw, rSet, bothEmpty), recall: coverage(rw, cSet, bothEmpty) };
    byType[type] = t;
    precision += weights[type] * t.precision;
    recall += weights[type] * t.recall;
  }
  const f = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { answerability: f, precision, recall, byType };
}

export interface QBleuOptions {
  weights?: Readonly<QBleuWeights>;
  /** Weight of answerability against BLEU-1, in [0, 1]. */
  delta?: number;
}

export interface QBleu1Score {
  qBleu1: number;
  answerability: number;
  bleu1: number;
}

/** Q-BLEU-1 of one generated question; with several references, the best one's. */
export function qBleu1(candidate: string, references: readonly string[], opts: QBleuOptions = {}): QBleu1Score {
  const delta = opts.delta ?? DEFAULT_Q_BLEU_DELTA;
  if (!(delta >= 0 && delta <= 1)) throw new RangeError(`Q-BLEU delta must be in [0, 1] (got ${delta})`);
  if (references.length === 0) throw new RangeError('Q-BLEU needs at least one reference');
  let best: QBleu1Score | undefined;
  for (const ref of references) {
    const a = answerability(candidate, ref, opts.weights).answerability;
    const b = sentenceBleu1(candidate, [ref]).score;
    const s = { qBleu1: delta * a + (1 - delta) * b, answerability: a, bleu1: b };
    if (!best || s.qBleu1 > best.qBleu1) best = s;
  }
  return best!;
}

export interface QBleuItem {
  candidate: string;
  references: readonly string[];
}

/** Means of the item scores over a corpus; null for no items. */
export function meanQBleu1(items: Iterable<QBleuItem>, opts: QBleuOptions = {}): QBleu1Score | null {
  let n = 0;
  const sum = { qBleu1: 0, answerability: 0, bleu1: 0 };
  for (const item of items) {
    const s = qBleu1(item.candidate, item.references, opts);
    sum.qBleu1 += s.qBleu1;
    sum.answerability += s.answerability;
    sum.bleu1 += s.bleu1;
    n++;
  }
  return n ? { qBleu1: sum.qBleu1 / n, answerability: sum.answerability / n, bleu1: sum.bleu1 / n } : null;
}
