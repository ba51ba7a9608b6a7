import { buildWorld, Prng, selectQuestions, type WorldQuestion } from '@rag/world';
import { exactMatch, f1 } from '../answer-metrics.js';
import { QA_RECORD_VERSION, type QaRecord } from '../qa-record.js';

/**
 * QA records as `qa run` would write them over a generated world, for the report tests: real world questions
 * and golds, an arm that answers its own year's gold for a chosen share of questions, a few failures, posteriors
 * that are proper distributions over the retrieved docs. What each record got right is returned beside it, so
 * a test can count what the report should say without asking the code under test.
 */

export interface ArmPlan {
  snapshot: string;
  year: '2016' | '2018';
  /** Share answered with the year's gold; the rest get another question's answer. */
  correctShare: number;
  /** Every n-th question fails (0: none). */
  failEvery: number;
  k: number;
}

export interface PlannedRecord {
  record: QaRecord;
  /** The answer given is this year's canonical gold. */
  answeredGold: boolean;
}

export function worldQuestions(count: number, seed = 7): WorldQuestion[] {
  const world = buildWorld({ seed, years: [2016, 2018], countries: 40, hogChangeRate: 0.8, hosChangeRate: 0.5 });
  return selectQuestions(world, { count });
}

function softmax(xs: number[]): number[] {
  const m = Math.max(...xs);
  const e = xs.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

export function worldRecords(questions: readonly WorldQuestion[], plan: ArmPlan): PlannedRecord[] {
  const rng = new Prng(`eval-test/${plan.snapshot}`);
  return questions.map((q, index) => {
    const gold = q.answers[plan.year]!;
    const id = `q${index}`;
    const base = {
      v: QA_RECORD_VERSION, id, index, question: q.question, snapshot: plan.snapshot, mode: 'rag-token', k: plan.k,
      year: plan.year, gold, gold_by_year: q.answers, type: q.type,
    } as const;
    if (plan.failEvery && index % plan.failEvery === plan.failEvery - 1) {
      return { answeredGold: false, record: { ...base, answer: '', docs: [], tokens: [], doc_posteriors: [], latency_ms: 3.5, error: 'generator: output has NaN logits' } };
    }
    const answeredGold = rng.next() < plan.correctShare;
    // A wrong answer is a real answer to another question (plausible, and never this question's gold).
    const other = questions[(index + 1 + rng.int(0, questions.length - 2)) % questions.length]!.answers[plan.year]![0]!;
    const answer = answeredGold ? gold[0]! : gold.includes(other) ? `${other} Jr.` : other;
    const docs = Array.from({ length: plan.k }, (_, i) => ({
      id: `${plan.snapshot}:${1000 + index * 10 + i}`,
      title: i === 0 ? `${q.question.replace(/\?$/, '').split(' ').slice(-2).join(' ')} <history> & "politics"` : `Passage ${i} of ${q.id}`,
      score: Math.round((82 - i * 1.7 - rng.next()) * 1000) / 1000,
    }));
    const tokens = answer.split(/(?=\s)/).map((t, i) => (i ? t.replace(/^\s/, 'Ġ') : t));
    const doc_posteriors = tokens.map(() => softmax(docs.map((_, i) => (i === 0 && answeredGold ? 3 : 0) + rng.next() * 1.5 - i * 0.3)));
    const latency_ms = Math.round((40 + rng.next() * 80) * 10) / 10;
    return { answeredGold, record: { ...base, answer, docs, tokens, doc_posteriors, latency_ms, em: exactMatch(answer, gold), f1: f1(answer, gold) } };
  });
}
