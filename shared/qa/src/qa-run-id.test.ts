import { test } from 'node:test';
import assert from 'node:assert/strict';
import { qaRunId, type QuestionSet } from './qa-run.js';

const source = { path: 'questions.jsonl', sha256: 'f'.repeat(64), format: 'world-jsonl' };
const settings = { target: 'world-2018', mode: 'rag-token' as const, k: 4, beams: 4, year: '2018' };
const q = (id: string, question: string, type: string) => ({ id, index: 0, question, answers: ['x'], type });

test('two subsets of one file with the same size are different runs (no resuming the other subset\'s answers)', () => {
  const changed: QuestionSet = { questions: [q('q00001', 'Who is the prime minister of Valdoria?', 'changing')], source };
  const firstLine: QuestionSet = { questions: [q('q00002', 'What is the capital of Valdoria?', 'invariant')], source };
  assert.notEqual(qaRunId(changed, settings, 16), qaRunId(firstLine, settings, 16));
  assert.equal(qaRunId(changed, settings, 16), qaRunId({ questions: [...changed.questions], source: { ...source } }, settings, 16), 'same questions, same run');
});
