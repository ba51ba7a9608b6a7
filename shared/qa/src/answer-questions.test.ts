// A transient error of one question (ONNX Runtime out of memory, a session error) must fail the
// chunk so it is retried, never be stored as that question's answer; a deterministic input error
// is final. Real tiny generator (HF fixture), real ONNX Runtime; the faults are injected into it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '@rag/core';
import { loadEncoder, type Encoder } from '@rag/encoder';
import { loadGenerator, type Generator } from '@rag/generator';
import { qaRecordSchema, taskRecordScores } from '@rag/eval';
import { answerQuestions, isFinalQuestionError } from './answer-questions.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
let generator: Generator;
let questionEncoder: Encoder;

before(async () => {
  generator = await loadGenerator({ dir: join(REPO, 'test/fixtures/hf-rag/generator') });
  questionEncoder = await loadEncoder({ dir: join(REPO, 'models/minilm-static-256') });
});
after(async () => {
  await generator.release();
  await questionEncoder.release();
});

const questions = [0, 1, 2].map((i) => ({ id: `q${i}`, index: i, question: `who wrote book number ${i}?` }));
const settings = { target: 'none', mode: 'no-retrieval' as const, k: 1, beams: 1, maxLength: 4 };

/** Makes the generator's encode() throw `err` on the given calls (0-based), and behave otherwise. */
function failOn(nth: number[], err: Error): () => void {
  const real = generator.encode;
  let calls = 0;
  generator.encode = async function (this: Generator, ...args: Parameters<Generator['encode']>) {
    if (nth.includes(calls++)) throw err;
    return real.apply(this, args);
  } as Generator['encode'];
  return () => { generator.encode = real; };
}

// The three questions are decoded as one batch (encode call 0); when it fails they are answered one at a
// time (calls 1, 2, 3), so question 1 alone is call 2.

test('an ONNX Runtime error of one question fails the chunk (to be retried); the retry answers every question', async () => {
  const restore = failOn([0, 2], new Error('Failed to allocate memory for requested buffer of size 4194304'));
  try {
    await assert.rejects(answerQuestions(questions, { models: { generator, questionEncoder }, settings }), /Failed to allocate memory/);
    // The retry of the chunk (what BullMQ does next) gets a real answer for every question.
    const again = await answerQuestions(questions, { models: { generator, questionEncoder }, settings });
    assert.deepEqual(again.map((r) => r.error), [undefined, undefined, undefined]);
    assert.ok(again.every((r) => r.tokens.length > 0));
  } finally {
    restore();
  }
});

test('a deterministic input error is that question\'s final answer; the others are answered', async () => {
  const restore = failOn([0, 2], new UsageError('question 1 cannot be tokenized'));
  try {
    const recs = await answerQuestions(questions, { models: { generator, questionEncoder }, settings });
    assert.deepEqual(recs.map((r) => r.error), [undefined, 'question 1 cannot be tokenized', undefined]);
  } finally {
    restore();
  }
  assert.equal(isFinalQuestionError(new Error('ORT session run failed')), false);
  assert.equal(isFinalQuestionError(new RangeError('Array buffer allocation failed')), false);
  assert.equal(isFinalQuestionError(new UsageError('bad question')), true);
});

test('a batch that fails is answered one question at a time, with the answers each question gets alone', async () => {
  const alone = await answerQuestions(questions, { models: { generator, questionEncoder }, settings, generationBatch: 1 });
  const restore = failOn([0], new Error('Failed to allocate memory for requested buffer of size 4194304'));
  try {
    const recs = await answerQuestions(questions, { models: { generator, questionEncoder }, settings });
    assert.deepEqual(recs.map((r) => r.error), [undefined, undefined, undefined]);
    assert.deepEqual(recs.map((r) => r.tokens), alone.map((r) => r.tokens));
  } finally {
    restore();
  }
});

test('task questions (the paper\'s other tasks) get their task, references and sentence-level task scores, no EM/F1', async () => {
  const fever = questions.map((q, i) => ({ ...q, task: 'fever', references: [['SUPPORTS', 'REFUTES', 'NOT ENOUGH INFO'][i]!] }));
  const recs = await answerQuestions(fever, { models: { generator, questionEncoder }, settings });
  recs.forEach((r, i) => {
    qaRecordSchema.parse(r); // valid v1 record
    assert.equal(r.task, 'fever');
    assert.deepEqual(r.references, fever[i]!.references);
    assert.deepEqual(r.task_scores, taskRecordScores('fever', r.answer, r.references));
    assert.equal(r.em, undefined);
    assert.equal(r.gold, undefined);
  });
  const ms = questions.map((q) => ({ ...q, task: 'msmarco', references: ['a book was written by someone'] }));
  const [m] = await answerQuestions(ms.slice(0, 1), { models: { generator, questionEncoder }, settings });
  const want = taskRecordScores('msmarco', m!.answer, m!.references)!;
  assert.deepEqual(Object.keys(m!.task_scores!), ['bleu1', 'rougeL']);
  for (const k of ['bleu1', 'rougeL']) assert.ok(Math.abs(m!.task_scores![k]! - want[k]!) <= 5e-7, k);
  // Open-QA questions get none of the task fields.
  const [plain] = await answerQuestions(questions.slice(0, 1), { models: { generator, questionEncoder }, settings });
  assert.ok(!('task' in plain!) && !('references' in plain!) && !('task_scores' in plain!));
});
