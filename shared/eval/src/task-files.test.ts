// The paper's other tasks end to end inside @rag/eval: their question files (test/fixtures/tasks/), the records'
// task fields, the summary's task block (equal to the metric functions called directly) and the A/B report.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { compareAb, formatAbTable, renderAbReport, type AbArm } from './ab-report.js';
import { summarize } from './aggregate.js';
import { corpusBleu1, sentenceBleu1 } from './bleu.js';
import { NoQuestionsError } from './eval-errors.js';
import { feverAccuracy } from './fever-label.js';
import { meanQBleu1, qBleu1 } from './q-bleu.js';
import { qaRecordSchema, qaSummarySchema, QA_RECORD_VERSION, type QaRecord } from './qa-record.js';
import { detectQuestionFormat, readQuestions, type Question } from './question-file.js';
import { meanRougeL, rougeL } from './rouge-l.js';
import { formatSweepTable, renderSweepK } from './sweep-k.js';
import { formatTaskSummary, summarizeTask, taskRecordScores } from './task-metrics.js';
import { headers, stripTags, tableByClass, bodyRows } from './testing/html-scrape.js';

const fixture = (name: string) => fileURLToPath(new URL(`../../../test/fixtures/tasks/${name}`, import.meta.url));
const MSMARCO = fixture('msmarco-nlg.jsonl');
const JEOPARDY = fixture('jeopardy.jsonl');
const FEVER = fixture('fever.jsonl');

let dir: string;
before(async () => { dir = await mkdtemp(join(tmpdir(), 'rag-eval-tasks-')); });
after(async () => { await rm(dir, { recursive: true, force: true }); });

async function file(name: string, text: string): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, text);
  return p;
}

/** A record as a worker writes it for a task question (answer given, or failed). */
function record(q: Question, answer: string, o: { snapshot?: string; error?: string } = {}): QaRecord {
  const r = {
    v: QA_RECORD_VERSION, id: q.id, index: q.index, question: q.question, answer: o.error ? '' : answer,
    snapshot: o.snapshot ?? 's1', mode: 'rag-token', k: 0, docs: [], doc_posteriors: [], tokens: [], latency_ms: 10,
    ...(q.task ? { task: q.task } : {}), ...(q.references ? { references: q.references } : {}),
    ...(o.error ? { error: o.error } : {}),
  } as QaRecord;
  const scores = o.error ? undefined : taskRecordScores(q.task, answer, q.references);
  return qaRecordSchema.parse(scores ? { ...r, task_scores: scores } : r);
}

describe('task question files', () => {
  it('detects each task from content, with or without a telling extension', async () => {
    assert.equal(await detectQuestionFormat(MSMARCO), 'msmarco-jsonl');
    assert.equal(await detectQuestionFormat(JEOPARDY), 'jeopardy-jsonl');
    assert.equal(await detectQuestionFormat(FEVER), 'fever-jsonl');
    assert.equal(await detectQuestionFormat(await file('m', '{"query": "q", "answers": ["a"]}\n')), 'msmarco-jsonl');
    assert.equal(await detectQuestionFormat(await file('j', '{"answer": "Lima", "question": "This capital …"}\n')), 'jeopardy-jsonl');
    assert.equal(await detectQuestionFormat(await file('f', '{"id": 1, "claim": "c", "label": "SUPPORTS"}\n')), 'fever-jsonl');
    // The formats that were there before are told as before.
    assert.equal(await detectQuestionFormat(await file('nq', '{"question": "q?", "answer": ["x"]}\n')), 'nq-jsonl');
    assert.equal(await detectQuestionFormat(await file('w.jsonl', '{"question": "q?", "answers": {"2016": ["x"]}}\n')), 'world-jsonl');
    // A stray string answer among NQ-open lines is a bad NQ line, not a Jeopardy file.
    assert.equal(await detectQuestionFormat(await file('nq2.jsonl', '{"question": "q?", "answer": "x"}\n{"question": "r?", "answer": ["y"]}\n')), 'nq-jsonl');
  });

  it('MS MARCO: well-formed answers when there are any, else the answers; "No Answer Present." items skipped', async () => {
    const s = await readQuestions(MSMARCO);
    assert.equal(s.format, 'msmarco-jsonl');
    assert.equal(s.task, 'msmarco');
    assert.deepEqual(s.invalid, []);
    assert.deepEqual(s.questions.map((q) => [q.index, q.line, q.question, q.sourceId]), [
      [0, 1, 'what is the capital of peru', '1001'],
      [1, 2, 'how long to boil an egg', '1002'],
      [2, 3, 'what does a cardiologist do', '1003'],
      [3, 5, 'what is the boiling point of water', '1005'],
    ]);
    assert.deepEqual(s.questions.map((q) => q.references), [
      ['The capital of Peru is Lima.'],
      ['About 10 minutes.', '9 to 12 minutes'],
      ['A cardiologist is a doctor who treats diseases of the heart.'], // wellFormedAnswers "[]" as v2.1 writes it
      ['The boiling point of water is 100 degrees Celsius at sea level.'],
    ]);
    assert.ok(s.questions.every((q) => q.task === 'msmarco' && q.answers === undefined), 'no EM/F1 gold');
    assert.match(s.notes.join('\n'), /1 item\(s\) whose only answer is "No Answer Present\." skipped/);
  });

  it('Jeopardy: the answer entity is the input, the clue (J! Archive quotes dropped) the reference', async () => {
    const s = await readQuestions(JEOPARDY);
    assert.equal(s.format, 'jeopardy-jsonl');
    assert.equal(s.task, 'jeopardy');
    assert.deepEqual(s.questions.map((q) => q.question), ['Lima', 'Mount Everest', 'Hamlet', 'Water']);
    assert.deepEqual(s.questions.map((q) => q.references), [
      ['This capital on the Rimac River was founded by Francisco Pizarro in 1535'],
      ['At 8,849 meters, this Himalayan peak is the highest on Earth'],
      ['This Danish prince asks whether "to be, or not to be"'],
      ['At sea level this liquid boils at 100 degrees Celsius'],
    ]);
    assert.ok(s.questions.every((q) => q.task === 'jeopardy' && q.answers === undefined));
  });

  it('FEVER: the claim is the input, the label (canonical) the reference', async () => {
    const s = await readQuestions(FEVER);
    assert.equal(s.format, 'fever-jsonl');
    assert.equal(s.task, 'fever');
    assert.deepEqual(s.questions.map((q) => [q.question, q.references, q.sourceId]), [
      ['Lima is the capital of Peru.', ['SUPPORTS'], '75397'],
      ['Mount Everest is in the Andes.', ['REFUTES'], '150448'],
      ['Hamlet was first performed on a Tuesday.', ['NOT ENOUGH INFO'], '214861'],
      ['Water boils at 100 degrees Celsius at sea level.', ['SUPPORTS'], '156709'],
      ['Hamlet is a comedy by Moliere.', ['REFUTES'], '83235'],
    ]);
  });

  it('open-QA files carry no task fields (their run ids and records stay as they were)', async () => {
    const s = await readQuestions(await file('nq.jsonl', '{"question": "q?", "answer": ["x"]}\n'));
    assert.equal(s.task, 'open-qa');
    assert.deepEqual(Object.keys(s.questions[0]!).sort(), ['answers', 'id', 'index', 'line', 'question']);
  });

  it('bad lines are reported with their line numbers and skipped, like the other formats', async () => {
    const m = await readQuestions(await file('m.jsonl', [
      '{"query": "ok", "query_id": 1, "answers": ["fine"], "wellFormedAnswers": []}',
      '{"query": "", "answers": ["x"]}',
      '{"query": "no answers"}',
      '{"query": "bad list", "answers": "x"}',
      '{"query": "empty", "answers": [" "]}',
      '{"query": "broken", ',
    ].join('\n')));
    assert.equal(m.format, 'msmarco-jsonl');
    assert.deepEqual(m.questions.map((q) => q.question), ['ok']);
    assert.deepEqual(m.invalid.map((x) => [x.line, x.reason.replace(/^bad JSON.*/, 'bad JSON')]), [
      [2, 'empty query'], [3, "missing field 'answers'"], [4, "'answers' must be an array of strings, got string"],
      [5, "'answers' has no non-empty answer"], [6, 'bad JSON'],
    ]);
    assert.match(m.notes.join('\n'), /5 invalid line\(s\) skipped, first at line 2: empty query/);

    const j = await readQuestions(await file('j.jsonl', [
      '{"answer": "Lima", "question": "This capital"}',
      '{"answer": "", "question": "x"}',
      '{"answer": "Peru"}',
      '{"answer": "Peru", "question": 3}',
      '{"answer": "Peru", "question": "\'\'"}',
    ].join('\n')));
    assert.equal(j.format, 'jeopardy-jsonl');
    assert.deepEqual(j.questions.map((q) => q.question), ['Lima']);
    assert.deepEqual(j.invalid, [
      { line: 2, reason: 'empty answer' }, { line: 3, reason: "missing field 'question'" },
      { line: 4, reason: "'question' must be a string, got number" }, { line: 5, reason: 'empty question' },
    ]);

    const f = await readQuestions(await file('f.jsonl', [
      '{"id": 1, "claim": "Lima is in Peru.", "label": "SUPPORTS"}',
      '{"id": 2, "claim": "No label (the test set)."}',
      '{"id": 3, "claim": "Odd label.", "label": "MAYBE"}',
      '{"id": 4, "claim": " ", "label": "REFUTES"}',
      '{"id": 5, "claim": "Label as a number.", "label": 1}',
    ].join('\n')));
    assert.equal(f.format, 'fever-jsonl');
    assert.deepEqual(f.questions.map((q) => q.question), ['Lima is in Peru.']);
    assert.deepEqual(f.invalid.map((x) => x.line), [2, 3, 4, 5]);
    assert.match(f.invalid[0]!.reason, /missing field 'label'/);
    assert.match(f.invalid[1]!.reason, /must be SUPPORTS, REFUTES or NOT ENOUGH INFO, got "MAYBE"/);
    assert.equal(f.invalid[2]!.reason, 'empty claim');
    assert.match(f.invalid[3]!.reason, /'label' must be a string, got number/);
  });

  it('a file with no usable item is an error that says why', async () => {
    await assert.rejects(readQuestions(await file('none.jsonl', '{"query": "q", "answers": ["No Answer Present."]}\n')),
      (e: NoQuestionsError) => e instanceof NoQuestionsError && /No Answer Present/.test(e.hint ?? ''));
    await assert.rejects(readQuestions(await file('nolabel.jsonl', '{"id": 1, "claim": "c"}\n')),
      (e: NoQuestionsError) => e instanceof NoQuestionsError && /missing field 'label'/.test(e.hint ?? ''));
  });
});

describe('task metrics in summaries', () => {
  it('MS MARCO: corpus BLEU-1 and mean ROUGE-L, as the metric functions give them', async () => {
    const s = await readQuestions(MSMARCO);
    const outputs = ['Lima is the capital of Peru.', '10 minutes', 'a heart doctor', 'water boils at 100 degrees'];
    const records = s.questions.map((q, i) => record(q, outputs[i]!));
    records.push(record(s.questions[1]!, '', { error: 'question too long' })); // a failure: an empty output
    const summary = qaSummarySchema.parse(summarize(records));
    const items = records.map((r) => ({ out: r.error ? '' : r.answer, refs: r.references! }));
    assert.equal(summary.task?.name, 'msmarco');
    assert.equal(summary.task?.scored, 5);
    assert.equal(summary.task?.metrics.bleu1, corpusBleu1(items.map((x) => ({ hypothesis: x.out, references: x.refs }))).score);
    assert.equal(summary.task?.metrics.rougeL, meanRougeL(items.map((x) => ({ prediction: x.out, references: x.refs }))));
    assert.ok(summary.task!.metrics.bleu1! > 0 && summary.task!.metrics.rougeL! > 0);
    // No EM/F1 gold: EM/F1 are not made up from the references.
    assert.equal(summary.scored, 0);
    assert.equal(summary.em, null);
    // Per record: sentence-level scores.
    assert.deepEqual(records[0]!.task_scores, { bleu1: sentenceBleu1(outputs[0]!, records[0]!.references!).score, rougeL: rougeL(outputs[0]!, records[0]!.references!).fmeasure });
    assert.match(formatTaskSummary(summary.task!), /^MS-MARCO NLG: BLEU-1 \d+\.\d, ROUGE-L \d+\.\d of 5$/);
  });

  it('Jeopardy: mean Q-BLEU-1 and corpus BLEU-1', async () => {
    const s = await readQuestions(JEOPARDY);
    const outputs = ['This capital city was founded by Pizarro', 'The highest peak on Earth', 'This prince of Denmark', 'It boils'];
    const records = s.questions.map((q, i) => record(q, outputs[i]!));
    const summary = qaSummarySchema.parse(summarize(records));
    const refs = s.questions.map((q) => q.references!);
    assert.equal(summary.task?.name, 'jeopardy');
    assert.equal(summary.task?.metrics.qBleu1, meanQBleu1(outputs.map((c, i) => ({ candidate: c, references: refs[i]! })))!.qBleu1);
    assert.equal(summary.task?.metrics.bleu1, corpusBleu1(outputs.map((h, i) => ({ hypothesis: h, references: refs[i]! }))).score);
    assert.equal(records[0]!.task_scores?.qBleu1, qBleu1(outputs[0]!, refs[0]!).qBleu1);
  });

  it('FEVER: 3-way and 2-way label accuracy; unreadable outputs and failures count wrong', async () => {
    const s = await readQuestions(FEVER);
    const outputs = ['supports', 'SUPPORTS', 'not enough info', 'the claim is true', 'refuted'];
    const records = s.questions.map((q, i) => record(q, outputs[i]!));
    records[1] = record(s.questions[1]!, '', { error: 'boom' });
    const summary = qaSummarySchema.parse(summarize(records));
    const direct = feverAccuracy(records.map((r) => ({ prediction: r.error ? '' : r.answer, gold: r.references![0]! })));
    assert.equal(summary.task?.name, 'fever');
    assert.equal(summary.task?.metrics.fever3, direct.threeWay.accuracy);
    assert.equal(summary.task?.metrics.fever2, direct.twoWay.accuracy);
    assert.equal(summary.task?.metrics.fever3, 3 / 5);
    assert.equal(summary.task?.metrics.fever2, 2 / 4);
    assert.deepEqual(summary.task?.counts, { twoWay: 4, unreadable: 2 });
    assert.deepEqual(records.map((r) => r.task_scores?.correct), [1, undefined, 1, 0, 1]);
    assert.equal(formatTaskSummary(summary.task!), 'FEVER: FEVER-3 acc 60.0%, FEVER-2 acc 50.0% of 5 (2 output(s) named no label)');
  });

  it('open-QA summaries have no task block; retrieve-only records are not task-scored', async () => {
    const q: Question = { index: 0, line: 1, id: 'x-1', question: 'q?', answers: ['x'] };
    const plain = { ...record(q, 'x'), gold: ['x'], em: 1 as const, f1: 1 };
    assert.equal(summarize([plain]).task, undefined);
    assert.equal(summarize([plain]).em, 1);
    const f = (await readQuestions(FEVER)).questions[0]!;
    assert.equal(summarizeTask([{ ...record(f, ''), mode: 'retrieve-only' }]), undefined);
  });

  it('records with task fields read back under the v1 schema; records without them are unchanged', async () => {
    const f = (await readQuestions(FEVER)).questions[0]!;
    const r = record(f, 'SUPPORTS');
    assert.deepEqual(qaRecordSchema.parse(JSON.parse(JSON.stringify(r))), r);
    assert.equal(r.v, 1);
  });
});

describe('task metrics in the A/B report and sweep table', () => {
  it('shows each arm\'s task metrics in the terminal table, the HTML summary and the comparison', async () => {
    const s = await readQuestions(FEVER);
    const a: AbArm = { label: 'A', snapshot: 'fever-a', records: s.questions.map((q) => record(q, q.references![0]!, { snapshot: 'fever-a' })) };
    const b: AbArm = { label: 'B', snapshot: 'fever-b', records: s.questions.map((q, i) => record(q, i < 2 ? q.references![0]! : 'nei', { snapshot: 'fever-b' })) };
    const cmp = compareAb(a, b);
    assert.deepEqual(cmp.arms[0].task, summarizeTask(a.records));
    assert.equal(cmp.arms[0].task?.metrics.fever3, 1);
    assert.equal(cmp.arms[1].task?.metrics.fever3, 3 / 5); // two right, plus the NOT ENOUGH INFO claim
    assert.equal(cmp.arms[1].task?.metrics.fever2, 2 / 4);

    const table = formatAbTable(cmp);
    const head = table.split('\n')[0]!;
    assert.match(head, /EM\s+F1\s+FEVER-3 acc\s+FEVER-2 acc\s+p50 ms/);
    assert.match(table, /A · A → fever-a\s.*100\.0%\s+100\.0%/);
    assert.match(table, /B · B → fever-b\s.*60\.0%\s+50\.0%/);

    const html = renderAbReport({ title: 'FEVER A/B', a, b });
    const summary = tableByClass(html, 'summary');
    const cols = headers(summary);
    assert.ok(cols.includes('FEVER-3 acc') && cols.includes('FEVER-2 acc') && cols.includes('task scored'), cols.join(', '));
    const rows = bodyRows(summary);
    const at = (row: number, col: string) => stripTags(rows[row]![cols.indexOf(col)]!);
    assert.equal(at(0, 'FEVER-3 acc'), '100.0%');
    assert.equal(at(1, 'FEVER-3 acc'), '60.0%');
    assert.equal(at(1, 'FEVER-2 acc'), '50.0%');
    assert.equal(at(1, 'task scored'), '5');
    // The differing answers show the gold label (the task's reference) and right/wrong marks.
    const diffs = tableByClass(html, 'diffs');
    assert.match(stripTags(diffs), /REFUTES/);
    assert.match(diffs, /class="bad">✗/);
  });

  it('MS MARCO arms show BLEU-1 and ROUGE-L; open-QA tables are as before', async () => {
    const s = await readQuestions(MSMARCO);
    const a: AbArm = { label: 'A', snapshot: 'a', records: s.questions.map((q) => record(q, q.references![0]!)) };
    const b: AbArm = { label: 'B', snapshot: 'b', records: s.questions.map((q) => record(q, 'no idea')) };
    const table = formatAbTable({ a, b });
    assert.match(table.split('\n')[0]!, /F1\s+BLEU-1\s+ROUGE-L\s+p50 ms/);
    assert.match(table, /A · A → a\s.*100\.0\s+100\.0\s/);
    const q: Question = { index: 0, line: 1, id: 'x-1', question: 'q?', answers: ['x'] };
    const open = { label: 'A', snapshot: 'a', records: [{ ...record(q, 'x'), gold: ['x'] }] };
    assert.doesNotMatch(formatAbTable({ a: open, b: { ...open, snapshot: 'b' } }), /BLEU|ROUGE|FEVER/);
  });

  it('sweep-k\'s table gets the task columns when its rows have them', () => {
    const task = { name: 'msmarco' as const, scored: 3, metrics: { bleu1: 0.25, rougeL: 0.5 } };
    const t = formatSweepTable([{ k: 1, em: null, f1: null, n: 3, latencyMs: 10, task }, { k: 5, em: null, f1: null, n: 3, latencyMs: 20 }]);
    assert.match(t.split('\n')[0]!, /F1\s+BLEU-1\s+ROUGE-L\s+latency ms/);
    assert.match(t, /25\.0\s+50\.0/);
    assert.doesNotMatch(formatSweepTable([{ k: 1, em: 0.5, f1: 0.5, n: 3, latencyMs: 10 }]), /BLEU/);
    const html = tableByClass(renderSweepK({ snapshot: 's', rows: [{ k: 1, em: null, f1: null, n: 3, latencyMs: 10, task }] }), 'sweep');
    assert.deepEqual(headers(html).map(stripTags), ['K', 'n', 'EM', 'F1', 'BLEU-1', 'ROUGE-L', 'latency ms']);
    assert.deepEqual(bodyRows(html)[0]!.slice(4, 6).map(stripTags), ['25.0', '50.0']);
  });
});
