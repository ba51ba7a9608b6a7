import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RagError, sha256 } from '@rag/core';
import { buildWorld, questionLine, selectQuestions } from '@rag/world';
import { NoQuestionsError, QuestionFileError } from './eval-errors.js';
import { parsePythonStringList } from './python-literal.js';
import { detectQuestionFormat, openQuestions, readQuestions } from './question-file.js';

const NQ_DEV = '/work/shared/data/nq-open/NQ-open.dev.jsonl';
let dir: string;

before(async () => { dir = await mkdtemp(join(tmpdir(), 'rag-eval-q-')); });
after(async () => { await rm(dir, { recursive: true, force: true }); });

async function file(name: string, text: string): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, text);
  return p;
}

async function rejectsWith<T extends RagError>(p: Promise<unknown>, cls: new (...a: never[]) => T, msg: RegExp, hint?: RegExp): Promise<T> {
  let caught: unknown;
  try { await p; } catch (err) { caught = err; }
  assert.ok(caught instanceof cls, `expected ${cls.name}, got ${String(caught)}`);
  assert.match(caught.message, msg);
  if (hint) assert.match(caught.hint ?? '', hint);
  return caught;
}

describe('NQ-open JSONL', () => {
  it('reads the real dev file: 3,610 questions, golds, stable unique ids', async () => {
    const s = await readQuestions(NQ_DEV);
    assert.equal(s.format, 'nq-jsonl');
    assert.equal(s.questions.length, 3610);
    assert.deepEqual(s.invalid, []);
    const q0 = s.questions[0]!;
    assert.equal(q0.question, 'when was the last time anyone was on the moon');
    assert.deepEqual(q0.answers, ['14 December 1972 UTC', 'December 1972']);
    assert.equal(q0.id, `${sha256(q0.question).slice(0, 12)}-1`);
    assert.equal(new Set(s.questions.map((q) => q.id)).size, 3610);
    s.questions.forEach((q, i) => { assert.equal(q.index, i); assert.equal(q.line, i + 1); assert.ok(q.answers!.length >= 1); });
    assert.deepEqual((await readQuestions(NQ_DEV)).questions.map((q) => q.id), s.questions.map((q) => q.id));
  });

  it('reports and skips bad lines with their line numbers', async () => {
    const p = await file('mixed.jsonl', [
      '{"question": "who wrote hamlet", "answer": ["William Shakespeare", "Shakespeare"]}',
      '',
      '{"question": "", "answer": ["x"]}',
      '{"question": "what is the capital of peru", "answer": "Lima"}',
      '{"question": "broken", "answer": [',
      '{"question": "no answers here"}',
      '["not", "an", "object"]',
      '{"question": 42, "answer": ["x"]}',
      '{"question": "how many legs does a spider have", "answer": ["eight", "8"]}',
    ].join('\n'));
    const s = await readQuestions(p);
    assert.equal(s.format, 'nq-jsonl');
    assert.deepEqual(s.questions.map((q) => [q.index, q.line, q.question]), [[0, 1, 'who wrote hamlet'], [1, 9, 'how many legs does a spider have']]);
    assert.deepEqual(s.invalid.map((x) => x.line), [3, 4, 5, 6, 7, 8]);
    const reasons = Object.fromEntries(s.invalid.map((x) => [x.line, x.reason]));
    assert.equal(reasons[3], 'empty question');
    assert.match(reasons[4]!, /'answer' must be an array of strings, got string/);
    assert.match(reasons[5]!, /^bad JSON/);
    assert.equal(reasons[6], "missing field 'answer'");
    assert.match(reasons[7]!, /expected a JSON object, got an array/);
    assert.match(reasons[8]!, /'question' must be a string, got number/);
    assert.match(s.notes.join('\n'), /6 invalid line\(s\) skipped, first at line 3/);
  });
});

describe('world questions.jsonl', () => {
  const world = buildWorld({ seed: 7, years: [2016, 2018], countries: 30, hogChangeRate: 0.8, hosChangeRate: 0.5 });
  const qs = selectQuestions(world, { count: 60 });
  let path: string;
  before(async () => { path = await file('questions.jsonl', qs.map(questionLine).join('\n') + '\n'); });

  it('takes the gold from the chosen year and keeps every year for crossed scoring', async () => {
    for (const year of ['2016', 2018] as const) {
      const s = await readQuestions(path, { year });
      assert.equal(s.format, 'world-jsonl');
      assert.equal(s.questions.length, qs.length);
      s.questions.forEach((q, i) => {
        assert.deepEqual(q.answers, qs[i]!.answers[String(year)]);
        assert.deepEqual(q.answersByYear, qs[i]!.answers);
        assert.equal(q.type, qs[i]!.type);
        assert.equal(q.sourceId, qs[i]!.id);
      });
      assert.deepEqual(s.notes, []);
    }
    const differ = qs.filter((q) => q.answers['2016']![0] !== q.answers['2018']![0]).length;
    assert.ok(differ >= qs.filter((q) => q.type === 'changing').length && differ > 0);
    const a = await readQuestions(path, { year: '2016' });
    const b = await readQuestions(path, { year: '2018' });
    assert.equal(a.questions.filter((q, i) => q.answers![0] !== b.questions[i]!.answers![0]).length, differ);
  });

  it('without a year has no gold and says why', async () => {
    const s = await readQuestions(path);
    assert.ok(s.questions.every((q) => q.answers === undefined && q.answersByYear !== undefined));
    assert.match(s.notes.join('\n'), /no year given, so no gold/);
  });

  it('a year the file does not have is an error naming the years it has', async () => {
    const e = await rejectsWith(readQuestions(path, { year: '2017' }), NoQuestionsError, /no valid questions/, /year 2017 is not in this file \(has 2016, 2018\)/);
    assert.equal(e.code, 'NO_QUESTIONS');
    await rejectsWith(readQuestions(path, { year: '17' }), QuestionFileError, /four digits/);
  });

  it('flags wrong shapes line by line', async () => {
    const p = await file('world-bad.jsonl', [
      questionLine(qs[0]!),
      '{"question": "Who leads Xy?", "answers": ["Ann"], "type": "changing"}',
      '{"question": "Who leads Zz?", "answers": {"2016": "Ann"}}',
      '{"question": "Who leads Qq?", "answers": {"2016": ["Ann"], "2018": ["Bob"]}, "type": 3}',
      '{"question": "Who leads Ww?", "answers": {"2018": ["Bob"]}}',
    ].join('\n'));
    const s = await readQuestions(p, { year: 2016, format: 'world-jsonl' });
    assert.equal(s.questions.length, 1);
    assert.deepEqual(s.invalid.map((x) => x.line), [2, 3, 4, 5]);
    assert.match(s.invalid[0]!.reason, /'answers' must be an object/);
    assert.match(s.invalid[1]!.reason, /'answers\.2016' must be an array of strings/);
    assert.match(s.invalid[2]!.reason, /'type' must be a string/);
    assert.match(s.invalid[3]!.reason, /no answers for year 2016 \(has 2018\)/);
  });
});

describe('DPR CSV/TSV', () => {
  it('parses Python list literals as DPR writes them', () => {
    assert.deepEqual(parsePythonStringList("['Wilhelm Conrad Röntgen']"), ['Wilhelm Conrad Röntgen']);
    assert.deepEqual(parsePythonStringList(`["Sam's Club", 'the "Boss"', 'a\\'b', "tab\\there"]`), ["Sam's Club", 'the "Boss"', "a'b", 'tab\there']);
    assert.deepEqual(parsePythonStringList("[ 'x' , 'y', ]"), ['x', 'y']);
    assert.deepEqual(parsePythonStringList("[u'caf\\xe9', '\\u00e9t\\u00e9']"), ['café', 'été']);
    assert.deepEqual(parsePythonStringList('[]'), []);
    for (const bad of ["['x'", "'x'", "['x' 'y']", "['x'] trailing", '[1, 2]', "['\\x4']"]) assert.equal(parsePythonStringList(bad), null, bad);
  });

  it('reads a tab-separated file (DPR nq-test.csv is tab-separated despite its name)', async () => {
    const p = await file('nq-test.csv', [
      "who got the first nobel prize in physics\t['Wilhelm Conrad Röntgen']",
      "when is the next deadpool movie being released\t['May 18 , 2018']",
      `"who sang ""i'm a believer"" first"\t["The Monkees", 'Neil Diamond']`,
      "question with no answers\t",
      "\t['orphan answer']",
      "what is the tallest building, in the world\t['Burj Khalifa']",
    ].join('\r\n'));
    assert.equal(await detectQuestionFormat(p), 'dpr-tsv');
    const s = await readQuestions(p);
    assert.equal(s.format, 'dpr-tsv');
    assert.deepEqual(s.questions.map((q) => [q.line, q.question, q.answers]), [
      [1, 'who got the first nobel prize in physics', ['Wilhelm Conrad Röntgen']],
      [2, 'when is the next deadpool movie being released', ['May 18 , 2018']],
      [3, `who sang "i'm a believer" first`, ['The Monkees', 'Neil Diamond']],
      [6, 'what is the tallest building, in the world', ['Burj Khalifa']],
    ]);
    assert.deepEqual(s.invalid, [{ line: 4, reason: 'answers are not a Python list of strings' }, { line: 5, reason: 'empty question' }]);
  });

  it('reads a comma-separated file with CSV quoting and commas inside questions and lists', async () => {
    const p = await file('qa.csv', [
      'question,answers',
      "who is the president of the usa, as of 2017,['Donald Trump', 'Trump']",
      `"what's the name of the ""fab four"" drummer","['Ringo Starr', ""Ringo""]"`,
      "how tall is mount everest,['8,848 m', '29,029 ft']",
      "where is [the] louvre,['Paris']",
      'no list here,Paris',
    ].join('\n'));
    const s = await readQuestions(p);
    assert.equal(s.format, 'dpr-csv');
    assert.deepEqual(s.questions.map((q) => [q.line, q.question, q.answers]), [
      [2, 'who is the president of the usa, as of 2017', ['Donald Trump', 'Trump']],
      [3, 'what\'s the name of the "fab four" drummer', ['Ringo Starr', 'Ringo']],
      [4, 'how tall is mount everest', ['8,848 m', '29,029 ft']],
      [5, 'where is [the] louvre', ['Paris']],
    ]);
    assert.deepEqual(s.invalid.map((x) => x.line), [6]);
  });
});

describe('plain text and detection', () => {
  it('reads one question per line, skipping blanks and # comments', async () => {
    const p = await file('qs.txt', '\uFEFF# smoke questions\nwho wrote hamlet\n\n  what is the capital of peru  \n');
    const s = await readQuestions(p, { year: 2016 });
    assert.equal(s.format, 'text');
    assert.deepEqual(s.questions.map((q) => [q.index, q.line, q.question, q.answers]), [[0, 2, 'who wrote hamlet', undefined], [1, 4, 'what is the capital of peru', undefined]]);
    assert.match(s.notes.join('\n'), /year 2016 ignored/);
  });

  it('detects formats from content when the extension says nothing', async () => {
    assert.equal(await detectQuestionFormat(await file('a', '{"question": "q?", "answer": ["x"]}\n')), 'nq-jsonl');
    assert.equal(await detectQuestionFormat(await file('b', 'not json\n{"question": "q?", "answers": {"2016": ["x"]}}\n')), 'text');
    assert.equal(await detectQuestionFormat(await file('c.jsonl', 'oops\n{"question": "q?", "answers": {"2016": ["x"]}}\n')), 'world-jsonl');
    assert.equal(await detectQuestionFormat(await file('d', "who is it\t['x']\n")), 'dpr-tsv');
    assert.equal(await detectQuestionFormat(await file('e', "who is it,['x', 'y']\n")), 'dpr-csv');
    assert.equal(await detectQuestionFormat(await file('f', 'who is it, really?\n')), 'text');
  });

  it('streams: questions come out as read, invalid lines are complete at the end, one pass only', async () => {
    const p = await file('s.jsonl', '{"question": "a?", "answer": ["1"]}\nbad\n{"question": "b?", "answer": ["2"]}\n');
    const stream = await openQuestions(p);
    const seen: [string, number][] = [];
    for await (const q of stream) seen.push([q.question, stream.invalid.length]);
    assert.deepEqual(seen, [['a?', 0], ['b?', 1]]);
    await rejectsWith((async () => { for await (const _ of stream) void _; })(), QuestionFileError, /already read/);
  });
});

describe('errors', () => {
  it('missing file, folder, unknown format', async () => {
    await rejectsWith(readQuestions(join(dir, 'nope.jsonl')), QuestionFileError, /question file not found: .*nope\.jsonl/, /check the path/);
    await rejectsWith(readQuestions(dir), QuestionFileError, /is not a file/);
    await rejectsWith(readQuestions(NQ_DEV, { format: 'squad' as never }), QuestionFileError, /unknown question format 'squad'/, /nq-jsonl, world-jsonl, dpr-csv, dpr-tsv, text/);
  });

  it('JSON lines that are neither NQ nor world ask for another format', async () => {
    await rejectsWith(readQuestions(await file('plain.jsonl', '{"question": "who?"}\n')), QuestionFileError, /neither 'answer'/, /plain text file/);
    await rejectsWith(readQuestions(await file('junk.jsonl', 'a\nb\n')), QuestionFileError, /none of its first 2 lines is a JSON object/, /one JSON object per line.*\.txt file/);
  });

  it('zero valid questions is a typed error whose hint shows the first problem', async () => {
    const e = await rejectsWith(readQuestions(await file('allbad.jsonl', '{"question": "", "answer": ["x"]}\n{"question": "q", "answer": []}\n')), NoQuestionsError,
      /no valid questions in .*allbad\.jsonl \(read as nq-jsonl, 2 invalid line\(s\)\)/, /line 1: empty question/);
    assert.equal((e.details!.invalid as unknown[]).length, 2);
    await rejectsWith(readQuestions(await file('empty.txt', '\n\n')), NoQuestionsError, /is empty/);
    await rejectsWith(readQuestions(await file('comments.txt', '# only a comment\n')), NoQuestionsError, /no valid questions/, /no question lines/);
  });
});
