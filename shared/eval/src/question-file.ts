import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { assertTextFile, readTextChunks, sha256, type TextCheckOptions } from '@rag/core';
import { NoQuestionsError, QuestionFileError } from './eval-errors.js';
import { parseFeverLabel } from './fever-label.js';
import { parsePythonStringList } from './python-literal.js';
import type { QaTask } from './task-metrics.js';

/**
 * Question files in the shapes we meet: NQ-open JSONL, the synthetic world's questions.jsonl (golds per dump
 * year), DPR's CSV/TSV (`question<sep>['answer', ...]`) and plain text. Bad lines are reported and skipped, never
 * fatal, so one stray line does not cost a 3,000-question run; a file with no usable line at all is an error.
 *
 * The RAG paper's other tasks come as JSONL too (see task-metrics.ts for how each is scored):
 *   msmarco-jsonl   MS MARCO v2.1 NLG: {"query", "query_id", "answers": [...], "wellFormedAnswers": [...]}; the
 *                   references are the well-formed answers when there are any, else the answers; items whose
 *                   only answer is "No Answer Present." are skipped (counted in a note), as the NLG eval does
 *   jeopardy-jsonl  Jeopardy question generation (SearchQA's fields): {"answer": "<entity>", "question": "<clue>"};
 *                   the model's input is the answer, the clue is the reference
 *   fever-jsonl     FEVER: {"id", "claim", "label": SUPPORTS | REFUTES | NOT ENOUGH INFO}; the input is the claim
 * Their questions carry `task` and `references`, never `answers`: EM/F1 and hits@K do not score them.
 */

export const QUESTION_FORMATS = ['nq-jsonl', 'world-jsonl', 'dpr-csv', 'dpr-tsv', 'text', 'msmarco-jsonl', 'jeopardy-jsonl', 'fever-jsonl'] as const;
export type QuestionFormat = (typeof QUESTION_FORMATS)[number];

/** The task a format's questions belong to. */
export function taskOfFormat(format: QuestionFormat): QaTask {
  switch (format) {
    case 'msmarco-jsonl': return 'msmarco';
    case 'jeopardy-jsonl': return 'jeopardy';
    case 'fever-jsonl': return 'fever';
    default: return 'open-qa';
  }
}

/** MS MARCO's marker for a passage set with no answer. */
export const MSMARCO_NO_ANSWER = 'No Answer Present.';

export interface Question {
  /** 0-based ordinal among the file's valid questions. */
  index: number;
  /** 1-based line in the file. */
  line: number;
  /** Stable: first 12 hex of sha256(question) and the line, so the same file gives the same ids. */
  id: string;
  question: string;
  /** Gold answers; absent for text files, and for world files read without a year. */
  answers?: string[];
  /** World files: every year's golds (for matched vs crossed scoring). */
  answersByYear?: Record<string, string[]>;
  /** World files: changing | invariant | multi-fact. */
  type?: string;
  /** The id the file itself gives the question, if any (world: q00001; MS MARCO: query_id; FEVER: id). */
  sourceId?: string;
  /** The paper's other tasks only (absent for open QA): which task, and the output's references. */
  task?: QaTask;
  /** MS MARCO: the reference answers; Jeopardy: the clue; FEVER: the gold label (canonical spelling). */
  references?: string[];
}

export interface InvalidQuestionLine {
  line: number;
  reason: string;
}

export interface ReadQuestionsOptions {
  /** World files: which dump year's answers are the gold. */
  year?: string | number;
  /** Skip detection. */
  format?: QuestionFormat;
}

/** Questions as they are read; `invalid` and `notes` are complete once iteration ends. Iterate once. */
export interface QuestionStream extends AsyncIterable<Question> {
  readonly path: string;
  readonly format: QuestionFormat;
  /** What the questions' outputs are scored as ('open-qa': EM/F1). */
  readonly task: QaTask;
  readonly invalid: InvalidQuestionLine[];
  readonly notes: string[];
}

export interface QuestionSet {
  path: string;
  format: QuestionFormat;
  task: QaTask;
  questions: Question[];
  invalid: InvalidQuestionLine[];
  notes: string[];
}

export function questionId(question: string, line: number): string {
  return `${sha256(question).slice(0, 12)}-${line}`;
}

const SNIFF_LINES = 50;
/** For the text check's hint: what a question file may be. */
const TEXT_CHECK: TextCheckOptions = { expected: 'a question file (NQ-open JSONL, the world\'s questions.jsonl, DPR CSV/TSV, plain text, or MS MARCO / Jeopardy / FEVER JSONL, in UTF-8)' };

type Parsed =
  | { ok: true; question: string; answers?: string[]; answersByYear?: Record<string, string[]>; type?: string; sourceId?: string; references?: string[] }
  | { ok: false; reason: string }
  | { skip: true; noAnswer?: boolean };

function isStringArray(x: unknown): x is string[] {
  return Array.isArray(x) && x.every((s) => typeof s === 'string');
}

function describe(x: unknown): string {
  return x === null ? 'null' : Array.isArray(x) ? 'an array' : typeof x;
}

function parseJsonLine(text: string): { ok: true; obj: Record<string, unknown> } | { ok: false; reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `bad JSON: ${(err as Error).message}` };
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return { ok: false, reason: `expected a JSON object, got ${describe(json)}` };
  return { ok: true, obj: json as Record<string, unknown> };
}

function questionField(obj: Record<string, unknown>): { ok: true; question: string } | { ok: false; reason: string } {
  if (!('question' in obj)) return { ok: false, reason: "missing field 'question'" };
  if (typeof obj.question !== 'string') return { ok: false, reason: `'question' must be a string, got ${describe(obj.question)}` };
  const question = obj.question.trim();
  if (!question) return { ok: false, reason: 'empty question' };
  return { ok: true, question };
}

function cleanAnswers(list: string[]): string[] {
  return list.map((a) => a.trim()).filter(Boolean);
}

function parseNq(text: string): Parsed {
  const j = parseJsonLine(text);
  if (!j.ok) return j;
  const q = questionField(j.obj);
  if (!q.ok) return q;
  // NQ-open says "answer"; some re-exports say "answers": both are a list of strings.
  const key = 'answer' in j.obj ? 'answer' : 'answers' in j.obj ? 'answers' : null;
  if (!key) return { ok: false, reason: "missing field 'answer'" };
  const v = j.obj[key];
  if (!isStringArray(v)) return { ok: false, reason: `'${key}' must be an array of strings, got ${describe(v)}` };
  const answers = cleanAnswers(v);
  if (!answers.length) return { ok: false, reason: `'${key}' has no non-empty answer` };
  return { ok: true, question: q.question, answers };
}

function parseWorld(text: string, year: string | undefined): Parsed {
  const j = parseJsonLine(text);
  if (!j.ok) return j;
  const q = questionField(j.obj);
  if (!q.ok) return q;
  const a = j.obj.answers;
  if (a === undefined) return { ok: false, reason: "missing field 'answers'" };
  if (a === null || typeof a !== 'object' || Array.isArray(a)) {
    return { ok: false, reason: `'answers' must be an object of year -> [answers], got ${describe(a)}` };
  }
  const answersByYear: Record<string, string[]> = {};
  for (const [y, list] of Object.entries(a)) {
    if (!isStringArray(list)) return { ok: false, reason: `'answers.${y}' must be an array of strings, got ${describe(list)}` };
    answersByYear[y] = cleanAnswers(list);
  }
  if (j.obj.type !== undefined && typeof j.obj.type !== 'string') return { ok: false, reason: `'type' must be a string, got ${describe(j.obj.type)}` };
  const out: Parsed = { ok: true, question: q.question, answersByYear };
  if (typeof j.obj.type === 'string') out.type = j.obj.type;
  if (typeof j.obj.id === 'string') out.sourceId = j.obj.id;
  if (year !== undefined) {
    const gold = answersByYear[year];
    if (!gold) return { ok: false, reason: `no answers for year ${year} (has ${Object.keys(answersByYear).join(', ') || 'none'})` };
    if (!gold.length) return { ok: false, reason: `answers for year ${year} are empty` };
    out.answers = gold;
  }
  return out;
}

/** An id as files give it: a string, or a number (MS MARCO's query_id, FEVER's id). */
function idOf(x: unknown): string | undefined {
  return typeof x === 'string' && x ? x : typeof x === 'number' && Number.isFinite(x) ? String(x) : undefined;
}

function requiredString(obj: Record<string, unknown>, key: string): { ok: true; value: string } | { ok: false; reason: string } {
  if (!(key in obj)) return { ok: false, reason: `missing field '${key}'` };
  const v = obj[key];
  if (typeof v !== 'string') return { ok: false, reason: `'${key}' must be a string, got ${describe(v)}` };
  const value = v.trim();
  if (!value) return { ok: false, reason: `empty ${key}` };
  return { ok: true, value };
}

/** MS MARCO's answer lists; the v2.1 release writes an empty wellFormedAnswers as the string "[]". */
function answerList(obj: Record<string, unknown>, key: string): { ok: true; value: string[] } | { ok: false; reason: string } {
  const v = obj[key];
  if (v === undefined || v === null || v === '[]') return { ok: true, value: [] };
  if (!isStringArray(v)) return { ok: false, reason: `'${key}' must be an array of strings, got ${describe(v)}` };
  return { ok: true, value: cleanAnswers(v) };
}

function parseMsMarco(text: string): Parsed {
  const j = parseJsonLine(text);
  if (!j.ok) return j;
  const q = requiredString(j.obj, 'query');
  if (!q.ok) return q;
  if (!('answers' in j.obj) && !('wellFormedAnswers' in j.obj)) return { ok: false, reason: "missing field 'answers'" };
  const answers = answerList(j.obj, 'answers');
  if (!answers.ok) return answers;
  const wellFormed = answerList(j.obj, 'wellFormedAnswers');
  if (!wellFormed.ok) return wellFormed;
  const references = wellFormed.value.length ? wellFormed.value : answers.value.filter((a) => a !== MSMARCO_NO_ANSWER);
  if (!references.length) {
    return answers.value.length ? { skip: true, noAnswer: true } : { ok: false, reason: "'answers' has no non-empty answer" };
  }
  const out: Parsed = { ok: true, question: q.value, references };
  const id = idOf(j.obj.query_id);
  if (id !== undefined) out.sourceId = id;
  return out;
}

/** Jeopardy clues in the J! Archive dumps are wrapped in single quotes: "'This man ...'". */
function unquoteClue(s: string): string {
  return /^'.*'$/s.test(s) && s.length > 1 ? s.slice(1, -1).trim() : s;
}

function parseJeopardy(text: string): Parsed {
  const j = parseJsonLine(text);
  if (!j.ok) return j;
  const a = requiredString(j.obj, 'answer');
  if (!a.ok) return a;
  const c = requiredString(j.obj, 'question');
  if (!c.ok) return c;
  const clue = unquoteClue(c.value);
  if (!clue) return { ok: false, reason: 'empty question' };
  const out: Parsed = { ok: true, question: a.value, references: [clue] };
  const id = idOf(j.obj.id);
  if (id !== undefined) out.sourceId = id;
  return out;
}

function parseFever(text: string): Parsed {
  const j = parseJsonLine(text);
  if (!j.ok) return j;
  const c = requiredString(j.obj, 'claim');
  if (!c.ok) return c;
  if (!('label' in j.obj)) return { ok: false, reason: "missing field 'label' (FEVER's unlabelled test set cannot be scored)" };
  if (typeof j.obj.label !== 'string') return { ok: false, reason: `'label' must be a string, got ${describe(j.obj.label)}` };
  const label = parseFeverLabel(j.obj.label);
  if (!label) return { ok: false, reason: `'label' must be SUPPORTS, REFUTES or NOT ENOUGH INFO, got ${JSON.stringify(j.obj.label)}` };
  const out: Parsed = { ok: true, question: c.value, references: [label] };
  const id = idOf(j.obj.id);
  if (id !== undefined) out.sourceId = id;
  return out;
}

/** One CSV/TSV field starting at `i`: quoted (RFC 4180, "" for ") or raw up to `sep`. */
function quotedField(s: string, i: number): { value: string; end: number } | null {
  let out = '';
  let k = i + 1;
  while (k < s.length) {
    if (s[k] === '"') {
      if (s[k + 1] === '"') { out += '"'; k += 2; continue; }
      return { value: out, end: k + 1 };
    }
    out += s[k];
    k++;
  }
  return null;
}

function answersOf(field: string): string[] | null {
  const t = field.trim();
  if (t.startsWith('"')) {
    const f = quotedField(t, 0);
    if (!f || f.end !== t.length) return null;
    return parsePythonStringList(f.value);
  }
  return parsePythonStringList(t);
}

function isHeader(question: string, rest: string): boolean {
  return /^questions?$/i.test(question.trim()) && /^"?answers?"?$/i.test(rest.trim());
}

function parseDelimited(text: string, sep: ',' | '\t', lineNo: number): Parsed {
  let question: string | undefined;
  let answers: string[] | null = null;
  if (text.startsWith('"')) {
    const f = quotedField(text, 0);
    if (!f) return { ok: false, reason: 'unterminated quoted question' };
    const after = text.slice(f.end).replace(/^ +/, '');
    if (!after.startsWith(sep)) return { ok: false, reason: `expected '${sep === '\t' ? '\\t' : sep}' after the quoted question` };
    const rest = after.slice(1);
    if (lineNo === 1 && isHeader(f.value, rest)) return { skip: true };
    question = f.value;
    answers = answersOf(rest);
    if (!answers) return { ok: false, reason: 'answers are not a Python list of strings' };
  } else {
    // Unquoted: the question ends at the first separator after which the rest of the line is a list literal
    // (DPR's lists hold ", " themselves, and questions may hold commas).
    let cut = text.indexOf(sep);
    if (cut < 0) return { ok: false, reason: `no '${sep === '\t' ? '\\t' : sep}' separating question and answers` };
    if (lineNo === 1 && isHeader(text.slice(0, cut), text.slice(cut + 1))) return { skip: true };
    while (cut >= 0) {
      const got = answersOf(text.slice(cut + 1));
      if (got) { question = text.slice(0, cut); answers = got; break; }
      cut = text.indexOf(sep, cut + 1);
    }
    if (!answers || question === undefined) return { ok: false, reason: 'answers are not a Python list of strings' };
  }
  question = question.trim();
  if (!question) return { ok: false, reason: 'empty question' };
  const clean = cleanAnswers(answers);
  if (!clean.length) return { ok: false, reason: 'empty answer list' };
  return { ok: true, question, answers: clean };
}

function parseLine(format: QuestionFormat, text: string, lineNo: number, year: string | undefined): Parsed {
  switch (format) {
    case 'nq-jsonl': return parseNq(text);
    case 'world-jsonl': return parseWorld(text, year);
    case 'dpr-csv': return parseDelimited(text, ',', lineNo);
    case 'dpr-tsv': return parseDelimited(text, '\t', lineNo);
    case 'text': return text.startsWith('#') ? { skip: true } : { ok: true, question: text };
    case 'msmarco-jsonl': return parseMsMarco(text);
    case 'jeopardy-jsonl': return parseJeopardy(text);
    case 'fever-jsonl': return parseFever(text);
  }
}

/** The first lines, from the checked head of the file: a binary or non-UTF-8 file fails here, before any work. */
async function firstLines(path: string): Promise<string[]> {
  const { head, complete } = await assertTextFile(path, TEXT_CHECK);
  const lines = head.split(/\r?\n/);
  if (!complete) lines.pop(); // possibly cut mid-line
  return lines.map((l) => l.trim()).filter(Boolean).slice(0, SNIFF_LINES);
}

// The format is told by extension and content (there is no --format): say what each looks like.
const FORMAT_HINT = 'a .jsonl question file has one JSON object per line ({"question": …, "answer": [...]} as NQ-open; ' +
  'MS MARCO {"query", "answers"}, Jeopardy {"answer": "…", "question": "…"} or FEVER {"claim", "label"}); ' +
  'DPR\'s question\tanswers files end in .tsv or .csv; plain questions, one per line, go in a .txt file';

/** Tells the format from the extension and the first lines. */
export async function detectQuestionFormat(path: string): Promise<QuestionFormat> {
  const lines = await firstLines(path);
  const ext = extname(path).toLowerCase();
  const first = lines[0];
  if (first === undefined) throw new NoQuestionsError(`question file ${path} is empty`, { hint: 'give a file with one question per line' });
  if (['.jsonl', '.json', '.ndjson'].includes(ext) || first.startsWith('{')) {
    const objects = lines.map(parseJsonLine).filter((j) => j.ok).map((j) => j.obj);
    for (const obj of objects) {
      const a = obj.answers;
      if (a !== null && typeof a === 'object' && !Array.isArray(a)) return 'world-jsonl';
      if ('claim' in obj) return 'fever-jsonl';
      if ('query' in obj && ('answers' in obj || 'wellFormedAnswers' in obj)) return 'msmarco-jsonl';
      // Jeopardy's answer is one string; NQ-open's is a list: a line of each kind among the first says NQ-open
      // (with a bad line), as before these tasks were read.
      if (typeof obj.answer === 'string' && 'question' in obj && !objects.some((o) => Array.isArray(o.answer))) return 'jeopardy-jsonl';
      if ('answer' in obj || Array.isArray(a)) return 'nq-jsonl';
      throw new QuestionFileError(`cannot tell the format of ${path}: JSON lines have neither 'answer' (NQ-open, Jeopardy) nor 'answers' by year (world), ` +
        "nor MS MARCO's 'query' and 'answers', nor FEVER's 'claim'", {
        hint: 'for questions without answers use a plain text file, one question per line',
      });
    }
    throw new QuestionFileError(`cannot tell the format of ${path}: none of its first ${lines.length} lines is a JSON object`, { hint: FORMAT_HINT });
  }
  const tsv = /\t\s*"?\[/.test(first);
  const csv = /,\s*"?\[/.test(first);
  if (ext === '.tsv') return 'dpr-tsv';
  if (ext === '.csv') return tsv ? 'dpr-tsv' : 'dpr-csv'; // DPR's own nq-test.csv is tab-separated
  if (ext === '.txt') return 'text';
  if (tsv) return 'dpr-tsv';
  if (csv && /\]"?$/.test(first)) return 'dpr-csv';
  return 'text';
}

async function assertReadableFile(path: string): Promise<void> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new QuestionFileError(code === 'ENOENT' ? `question file not found: ${path}` : `cannot read question file ${path}: ${(err as Error).message}`, {
      cause: err, hint: 'check the path (NQ-open dev: NQ-open.dev.jsonl; a world: <dir>/questions.jsonl)',
    });
  }
  if (!st.isFile()) throw new QuestionFileError(`${path} is not a file`, { hint: 'pass the questions file itself, not its folder' });
}

class FileQuestionStream implements QuestionStream {
  readonly invalid: InvalidQuestionLine[] = [];
  readonly notes: string[] = [];
  private started = false;

  readonly task: QaTask;

  constructor(readonly path: string, readonly format: QuestionFormat, private readonly year: string | undefined) {
    this.task = taskOfFormat(format);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Question> {
    if (this.started) throw new QuestionFileError(`questions of ${this.path} were already read`, { hint: 'open the file again to read it twice' });
    this.started = true;
    const years = new Set<string>();
    let index = 0;
    let lineNo = 0;
    let noGoldNoted = false;
    let noAnswer = 0;
    // The same text check as every reader of user files: invalid UTF-8 or binary content anywhere fails the file.
    const rl = createInterface({ input: Readable.from(readTextChunks(this.path, TEXT_CHECK)), crlfDelay: Infinity });
    for await (const line of rl) {
      lineNo++;
      if (!line.trim()) continue;
      // Tabs are separators in TSV: trim only spaces there, so an empty first or last field stays visible.
      const delimited = this.format === 'dpr-tsv' || this.format === 'dpr-csv';
      const p = parseLine(this.format, delimited ? line.replace(/^ +| +$/g, '') : line.trim(), lineNo, this.year);
      if ('skip' in p) { if (p.noAnswer) noAnswer++; continue; }
      if (!p.ok) { this.invalid.push({ line: lineNo, reason: p.reason }); continue; }
      const q: Question = { index, line: lineNo, id: questionId(p.question, lineNo), question: p.question };
      if (p.answers) q.answers = p.answers;
      if (p.answersByYear) {
        q.answersByYear = p.answersByYear;
        for (const y of Object.keys(p.answersByYear)) years.add(y);
        if (!p.answers && !noGoldNoted) {
          noGoldNoted = true;
          this.notes.push(`world questions carry answers per year (${Object.keys(p.answersByYear).join(', ')}); no year given, so no gold: pass a year to score`);
        }
      }
      if (p.type !== undefined) q.type = p.type;
      if (p.sourceId !== undefined) q.sourceId = p.sourceId;
      if (p.references) { q.task = this.task; q.references = p.references; }
      index++;
      yield q;
    }
    if (noAnswer) this.notes.push(`${noAnswer} item(s) whose only answer is "${MSMARCO_NO_ANSWER}" skipped, as the MS MARCO NLG evaluation does`);
    if (this.invalid.length) this.notes.push(`${this.invalid.length} invalid line(s) skipped, first at line ${this.invalid[0]!.line}: ${this.invalid[0]!.reason}`);
    if (index === 0) {
      const first = this.invalid[0];
      let hint = first ? `line ${first.line}: ${first.reason}` : noAnswer ? `every item's only answer is "${MSMARCO_NO_ANSWER}"` : 'the file has no question lines';
      if (this.format === 'world-jsonl' && this.year !== undefined && years.size === 0 && first?.reason.startsWith('no answers for year')) {
        hint = `${first.reason.replace(/^no answers for year \S+ /, `year ${this.year} is not in this file `)}`;
      }
      throw new NoQuestionsError(`no valid questions in ${this.path} (read as ${this.format}, ${this.invalid.length} invalid line(s))`, {
        hint, details: { path: this.path, format: this.format, invalid: this.invalid.slice(0, 20) },
      });
    }
  }
}

/** Opens a question file for streaming; checks the file and the format up front, questions as iterated. */
export async function openQuestions(path: string, opts: ReadQuestionsOptions = {}): Promise<QuestionStream> {
  if (opts.format !== undefined && !(QUESTION_FORMATS as readonly string[]).includes(opts.format)) {
    throw new QuestionFileError(`unknown question format '${opts.format}'`, { hint: `use one of ${QUESTION_FORMATS.join(', ')}` });
  }
  await assertReadableFile(path);
  if (opts.format !== undefined) await assertTextFile(path, TEXT_CHECK); // detection checks it otherwise
  const format = opts.format ?? (await detectQuestionFormat(path));
  const year = opts.year === undefined ? undefined : String(opts.year);
  if (year !== undefined && !/^\d{4}$/.test(year)) throw new QuestionFileError(`year must be four digits, got '${year}'`, { hint: 'e.g. 2016 or 2018' });
  const stream = new FileQuestionStream(path, format, format === 'world-jsonl' ? year : undefined);
  if (year !== undefined && format !== 'world-jsonl') stream.notes.push(`year ${year} ignored: ${format} files have a single gold per question`);
  return stream;
}

/** Reads a whole question file (they are small: NQ-open dev is 3,610 lines). */
export async function readQuestions(path: string, opts: ReadQuestionsOptions = {}): Promise<QuestionSet> {
  const stream = await openQuestions(path, opts);
  const questions: Question[] = [];
  for await (const q of stream) questions.push(q);
  return { path, format: stream.format, task: stream.task, questions, invalid: stream.invalid, notes: stream.notes };
}
