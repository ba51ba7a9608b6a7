// The paper's other tasks through the CLI's question loading and its final line: a task file's questions carry
// their task and references into the run (and the worker's chunk schema keeps them); `qa run` prints the metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { compareAb, QA_RECORD_VERSION, summarize, type QaRecord } from '@rag/eval';
import { qaQuestionSchema } from '@rag/qa';
import { loadQuestionSet } from './qa-runner.js';
import { answeredLine } from './commands/qa.js';
import { abJson } from './commands/ab.js';

const fixture = (name: string) => fileURLToPath(new URL(`../../../test/fixtures/tasks/${name}`, import.meta.url));

test('task files load with their task and references; the chunk schema keeps them', async () => {
  const { set, invalid } = await loadQuestionSet(fixture('fever.jsonl'), { limit: 3 });
  assert.deepEqual(invalid, []);
  assert.equal(set.source.format, 'fever-jsonl');
  assert.deepEqual(set.questions.map((q) => [q.index, q.question, q.task, q.references]), [
    [0, 'Lima is the capital of Peru.', 'fever', ['SUPPORTS']],
    [1, 'Mount Everest is in the Andes.', 'fever', ['REFUTES']],
    [2, 'Hamlet was first performed on a Tuesday.', 'fever', ['NOT ENOUGH INFO']],
  ]);
  assert.ok(set.questions.every((q) => q.answers === undefined));
  assert.deepEqual(qaQuestionSchema.parse(JSON.parse(JSON.stringify(set.questions[0]))), set.questions[0]);
  const ms = await loadQuestionSet(fixture('msmarco-nlg.jsonl'), {});
  assert.equal(ms.set.source.format, 'msmarco-jsonl');
  assert.deepEqual(ms.set.questions[1]!.references, ['About 10 minutes.', '9 to 12 minutes']);
  const j = await loadQuestionSet(fixture('jeopardy.jsonl'), {});
  assert.deepEqual([j.set.questions[0]!.question, j.set.questions[0]!.task], ['Lima', 'jeopardy']);
});

test('qa run\'s final line shows the task metrics; an open-QA line is as before', () => {
  const rec = (answer: string, gold: string): QaRecord => ({
    v: QA_RECORD_VERSION, id: `q-${gold}`, index: 0, question: 'c', answer, snapshot: 's', mode: 'rag-token', k: 5,
    docs: [], doc_posteriors: [], tokens: [], latency_ms: 1, task: 'fever', references: [gold],
  });
  const s = summarize([rec('SUPPORTS', 'SUPPORTS'), rec('refutes', 'SUPPORTS'), rec('nei', 'NOT ENOUGH INFO'), rec('maybe', 'REFUTES')]);
  assert.equal(answeredLine(s), 'answered 4/4 (0 failed); FEVER: FEVER-3 acc 50.0%, FEVER-2 acc 33.3% of 4 (1 output(s) named no label)');
  const open = summarize([{ ...rec('x', 'x'), task: undefined, references: undefined, gold: ['x'], em: 1, f1: 1 }]);
  assert.equal(answeredLine(open), 'answered 1/1 (0 failed), EM 100.0%, F1 100.0%');
});

test('ab --json gives each arm\'s task block', () => {
  const rec = (id: string, answer: string, gold: string): QaRecord => ({
    v: QA_RECORD_VERSION, id, index: 0, question: 'c', answer, snapshot: 's', mode: 'rag-token', k: 5,
    docs: [], doc_posteriors: [], tokens: [], latency_ms: 1, task: 'fever', references: [gold],
  });
  const a = { label: 'a', snapshot: 'sa', records: [rec('1', 'supports', 'SUPPORTS'), rec('2', 'refutes', 'REFUTES')] };
  const b = { label: 'b', snapshot: 'sb', records: [rec('1', 'refutes', 'SUPPORTS'), rec('2', 'refutes', 'REFUTES')] };
  const json = abJson(compareAb(a, b), ['a', 'b']);
  assert.deepEqual(json.a.task, { name: 'fever', scored: 2, metrics: { fever3: 1, fever2: 1 }, counts: { twoWay: 2, unreadable: 0 } });
  assert.deepEqual(json.b.task?.metrics, { fever3: 0.5, fever2: 0.5 });
  assert.equal(json.a.em, null);
});
