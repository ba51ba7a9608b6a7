import { UsageError, sha256File } from '@rag/core';
import { normalizeAnswer, readQuestions, summarize, type QaRecord, type QaSummary } from '@rag/eval';
import { modelFingerprint, qaModelDirs, prepareQaRun, enqueueQaRun, waitForQaRun, collectQaResults, worldGeneratorNotice, type QaMode, type QaQuestion, type QaRunManifest, type QuestionSet } from '@rag/qa';
import { AliasRegistry } from '@rag/registry';
import { QA_QUEUE } from '@rag/queue';
import { readGeneratorCard } from '@rag/generator';
import type { Runtime } from './runtime.js';
import { raceWorkers, type QueueSession } from './queue-session.js';
import { QaProgressView } from './qa-progress-view.js';

export interface QaRunOptions {
  questions: string;
  /** Snapshot id or alias. */
  target: string;
  year?: string;
  limit?: number;
  mode: QaMode;
  k: number;
  beams: number;
  maxLength?: number;
  fresh?: boolean;
  progress?: boolean;
  label?: string;
  /** Only questions of these types (world files: changing, invariant, multi-fact); `limit` applies after. */
  types?: readonly string[];
  /** Already loaded (and perhaps filtered) questions; else read from `questions`. */
  set?: QuestionSet;
  /** The invalid lines met while loading `set`, to report in the result. */
  invalid?: { line: number; reason: string }[];
  /** Distributed mode: wait for workers without end (default: give up after RAG_NO_WORKER_WAIT_S). */
  waitForWorkers?: boolean;
}

export interface QaRunResult {
  manifest: QaRunManifest;
  records: QaRecord[];
  summary: QaSummary;
  invalid: { line: number; reason: string }[];
  resumed: boolean;
  seconds: number;
  /** Questions answered by this invocation (a resumed run's earlier answers excluded): what a rate is over. */
  answeredNow: number;
}

const reportedFiles = new Set<string>();

/** Reads and validates a question file; invalid lines are reported on stderr (once per file) and skipped. */
export async function loadQuestionSet(path: string, o: { year?: string; limit?: number }): Promise<{ set: QuestionSet; invalid: { line: number; reason: string }[] }> {
  const read = await readQuestions(path, { year: o.year });
  const all: QaQuestion[] = [];
  for (const q of read.questions) {
    if (o.limit !== undefined && all.length >= o.limit) break;
    all.push({
      id: q.id, index: all.length, question: q.question,
      ...(q.answers ? { answers: q.answers } : {}),
      ...(q.answersByYear ? { answersByYear: q.answersByYear } : {}),
      ...(q.type ? { type: q.type } : {}),
      ...(q.task ? { task: q.task } : {}),
      ...(q.references ? { references: q.references } : {}),
    });
  }
  const invalid = read.invalid;
  // ab reads a file once per arm (and per gold year): its notes and bad lines are reported once per process.
  if (!reportedFiles.has(path)) {
    reportedFiles.add(path);
    for (const note of read.notes) process.stderr.write(`rag: ${path}: ${note}\n`);
    for (const bad of invalid.slice(0, 10)) process.stderr.write(`rag: ${path}:${bad.line}: skipped: ${bad.reason}\n`);
    if (invalid.length > 10) process.stderr.write(`rag: … and ${invalid.length - 10} more invalid line(s) skipped\n`);
  }
  return { set: { questions: all, source: { path, sha256: await sha256File(path), format: read.format } }, invalid };
}

/** Fails before any job is queued when the target names neither an alias nor a published snapshot. */
export async function assertTarget(rt: Runtime, target: string): Promise<string> {
  return (await new AliasRegistry({ store: rt.store }).resolveSnapshotRef(target)).snapshotId;
}

/** One question-answering run on an open queue session (its workers, or remote ones). */
export async function runQa(rt: Runtime, session: QueueSession, o: QaRunOptions): Promise<QaRunResult> {
  const started = Date.now();
  if (o.mode !== 'no-retrieval') await assertTarget(rt, o.target);
  const loaded = o.set ? { set: o.set, invalid: o.invalid ?? [] } : await loadQuestionSet(o.questions, { year: o.year, limit: o.types ? undefined : o.limit });
  const { invalid } = loaded;
  const set = !o.set && o.types ? limitSet(selectTypes(loaded.set, o.types), o.limit) : loaded.set;
  const notice = worldGeneratorNotice({ generatorDir: rt.config.generation.generatorDir, questionFormat: set.source.format, mode: o.mode });
  showNotice(notice);
  const settings = { target: o.target, mode: o.mode, k: o.k, beams: o.beams, ...(o.maxLength ? { maxLength: o.maxLength } : {}), ...(o.year ? { year: o.year } : {}) };
  const models = await modelFingerprint(qaModelDirs(rt.config.generation, o.mode));
  const { manifest, resumed } = await prepareQaRun(rt.store, set, settings, rt.config.generation.chunkSize, { fresh: o.fresh, models });
  const ctx = { connection: session.connection, redis: session.redis, prefix: rt.config.redis.prefix, queue: rt.config.queue, store: rt.store, logger: rt.logger };
  const { pending, pendingChunks } = await enqueueQaRun(ctx, manifest);
  rt.logger.info({ event: 'qa.run', runId: manifest.runId, questions: manifest.questions, chunks: manifest.chunks, pending, resumed }, 'qa run queued');
  const view = new QaProgressView(o.label ?? o.target, manifest.questions, process.stderr, o.progress !== false);
  const noWorkerGiveUpMs = o.waitForWorkers ? 0 : rt.config.queue.noWorkerWaitS * 1000;
  try {
    await raceWorkers(session, waitForQaRun(ctx, manifest, {
      onTick: (chunks) => view.update(Math.min(manifest.questions, chunks * manifest.chunkSize)),
      onStorage: (err) => process.stderr.write(err ? `rag: cannot read storage (${err}); waiting for it to come back\n` : 'rag: storage readable again\n'),
      onRequeue: (n) => process.stderr.write(`rag: ${n} chunk(s) of run ${manifest.runId} were no longer in Redis (restarted without its data?); queued them again\n`),
      onNoWorkers: session.workers.length > 0 ? undefined : () => process.stderr.write(
        `rag: no worker is listening on queue ${QA_QUEUE} (prefix ${rt.config.redis.prefix}); start some with the same REDIS_URL and RAG_STORAGE: ./rag worker --roles generate` +
          `${noWorkerGiveUpMs ? `; waiting ${noWorkerGiveUpMs / 1000} s for one (--wait-for-workers: without end)` : ''}\n`,
      ),
      noWorkerGiveUpMs,
    }));
  } finally {
    view.stop();
  }
  const seconds = (Date.now() - started) / 1000;
  const questions = { path: set.source.path, sha256: set.source.sha256 };
  const knowledge = o.mode === 'retrieve-only' ? undefined : readGeneratorCard(rt.config.generation.generatorDir).knowledge;
  // Every row says what it came from, so a file handed on needs nothing beside it.
  const records = (await collectQaResults(rt.store, manifest)).map((r) => ({ ...r, questions, ...(knowledge ? { knowledge } : {}) }));
  const now = new Set(pendingChunks);
  const answeredNow = records.filter((r) => now.has(Math.floor(r.index / manifest.chunkSize))).length;
  const made = records.find((r) => r.question_encoder || r.generator);
  const summary: QaSummary = {
    ...summarize(records),
    ...(made?.question_encoder ? { question_encoder: made.question_encoder } : {}),
    ...(made?.generator ? { generator: made.generator } : {}),
    questions: { ...questions, format: set.source.format },
    ...(knowledge ? { knowledge } : {}),
    ...(notice ? { notice } : {}),
  };
  return { manifest, records, summary, invalid, resumed, seconds, answeredNow };
}

const shownNotices = new Set<string>();

/** A notice goes to stderr once per process (ab runs two arms on the same questions). */
function showNotice(notice: string | undefined): void {
  if (!notice || shownNotices.has(notice)) return;
  shownNotices.add(notice);
  process.stderr.write(`rag: ${notice}\n`);
}

/** `--mode`: the RAG modes; `retrieveOnly` also allows retrieve-only (qa run). */
export function parseMode(v: string, o: { retrieveOnly?: boolean } = {}): QaMode {
  const modes = ['rag-token', 'rag-sequence', 'rag-sequence-fast', 'no-retrieval', ...(o.retrieveOnly ? ['retrieve-only'] : [])];
  if (!modes.includes(v)) throw new UsageError(`unknown --mode ${v}`, { hint: `choose from ${modes.join(', ')}` });
  return v as QaMode;
}

/**
 * The paper's year experiment: only questions whose gold answers share nothing between the two
 * years (after SQuAD normalisation) can tell a 2016 index from a 2018 one. Returns each year's
 * view of those questions, re-indexed, in file order.
 */
export async function changedQuestionSets(path: string, yearA: string, yearB: string, limit?: number): Promise<{ a: QuestionSet; b: QuestionSet; total: number }> {
  const [{ set: a }, { set: b }] = await Promise.all([loadQuestionSet(path, { year: yearA }), loadQuestionSet(path, { year: yearB })]);
  const keepA: QaQuestion[] = [];
  const keepB: QaQuestion[] = [];
  for (let i = 0; i < a.questions.length; i++) {
    const qa = a.questions[i]!;
    const qb = b.questions[i]!;
    const ga = new Set((qa.answers ?? []).map(normalizeAnswer));
    if (!qa.answers?.length || !qb.answers?.length || qb.answers.some((x) => ga.has(normalizeAnswer(x)))) continue;
    if (limit !== undefined && keepA.length >= limit) break;
    keepA.push({ ...qa, index: keepA.length });
    keepB.push({ ...qb, index: keepB.length });
  }
  if (!keepA.length) throw new UsageError(`no question in ${path} has different gold answers in ${yearA} and ${yearB}`, { hint: 'drop --changed-only, or use the world\'s questions.jsonl' });
  const tag = (s: QuestionSet, y: string): QuestionSet => ({ questions: s === a ? keepA : keepB, source: { ...s.source, format: `${s.source.format}+changed:${yearA}/${yearB}@${y}` } });
  return { a: tag(a, yearA), b: tag(b, yearB), total: a.questions.length };
}

/** `--type a,b`: the list, checked against the world's question types. */
export function parseTypes(v: string | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  const types = [...new Set(v.split(',').map((t) => t.trim()).filter(Boolean))];
  if (!types.length) throw new UsageError('--type needs at least one question type', { hint: 'e.g. --type changing (the paper\'s experiment: single facts whose answer changed)' });
  return types;
}

/**
 * Keeps the questions whose type (from the file: the world's questions.jsonl has changing,
 * invariant and multi-fact) is one of `types`, re-indexed in file order. The source is tagged so
 * reports say which subset they scored.
 */
export function selectTypes(set: QuestionSet, types: readonly string[]): QuestionSet {
  const present = new Set(set.questions.map((q) => q.type).filter((t): t is string => t !== undefined));
  if (!present.size) {
    throw new UsageError(`--type: ${set.source.path} gives no question types`, { hint: 'question types come with the world\'s questions.jsonl ("type" on every line); drop --type for other files' });
  }
  const unknown = types.filter((t) => !present.has(t));
  if (unknown.length) {
    throw new UsageError(`--type ${unknown.join(',')}: no such question type in ${set.source.path}`, { hint: `types in this file: ${[...present].sort().join(', ')}` });
  }
  const keep = new Set(types);
  const questions = set.questions.filter((q) => q.type !== undefined && keep.has(q.type)).map((q, index) => ({ ...q, index }));
  return { questions, source: { ...set.source, format: `${set.source.format}+type:${[...keep].sort().join(',')}` } };
}

/** The first `n` questions (all when n is undefined), re-indexed. */
export function limitSet(set: QuestionSet, n: number | undefined): QuestionSet {
  if (n === undefined || set.questions.length <= n) return set;
  return { ...set, questions: set.questions.slice(0, n) };
}
