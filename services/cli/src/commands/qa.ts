import { createWriteStream } from 'node:fs';
import { access, constants, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { UsageError } from '@rag/core';
import { GoldCoverage, formatTaskSummary, qaTableHeader, qaTableRow, tableFormatOf, type QaRecord, type QaSummary } from '@rag/eval';
import { SnapshotRetriever, lookupPassages } from '@rag/retrieval';
import { SnapshotRegistry } from '@rag/snapshot';
import { assertStorageWritable, type ObjectStore } from '@rag/storage';
import { resolveTarget } from '../as-of.js';
import { createRuntime } from '../runtime.js';
import { openQueueSession } from '../queue-session.js';
import { assertTarget, limitSet, loadQuestionSet, parseMode, parseTypes, runQa, selectTypes } from '../qa-runner.js';

/** Passages per question when --k is not given: 5 for RAG (the paper's default), 20 for retrieve-only (DPR's top-20). */
export const DEFAULT_K = 5;
export const DEFAULT_K_RETRIEVE_ONLY = 20;

export interface QaRunCliOptions {
  questions: string;
  snapshot?: string;
  year?: string;
  limit?: number;
  mode: string;
  k?: number;
  beams: number;
  maxLength?: number;
  out?: string;
  workers?: number;
  json?: boolean;
  fresh?: boolean;
  progress?: boolean;
  type?: string;
  withText?: boolean;
  waitForWorkers?: boolean;
  /** With an alias: answer on the snapshot it served at this moment. */
  asOf?: string;
}

/** Records to `path`: JSONL, or CSV/TSV by its extension (assertOutputWritable has vetted it). */
export async function writeJsonl(path: string, records: QaRecord[]): Promise<void> {
  const table = tableFormatOf(path);
  await new Promise<void>((done, reject) => {
    const s = createWriteStream(path);
    s.on('error', reject);
    if (table === 'csv' || table === 'tsv') {
      s.write(qaTableHeader(table));
      for (const r of records) s.write(qaTableRow(r, table));
    } else {
      for (const r of records) s.write(JSON.stringify(r) + '\n');
    }
    s.end(done);
  });
}

/**
 * Refuses an output path before any work: an unknown extension (nothing would say what was written), a
 * directory that does not exist or cannot be written, or a file (or its summary) that cannot be replaced.
 * Answers are never computed only to be lost to a typo in --out.
 */
export async function assertOutputWritable(out: string, o: { summary?: boolean } = {}): Promise<void> {
  if (tableFormatOf(out) === 'unknown') {
    throw new UsageError(`--out ${out}: unknown file type`, { hint: 'end it in .jsonl (every field), .csv or .tsv (one row per question)' });
  }
  const paths = o.summary === false ? [out] : [out, summaryPath(out)];
  for (const path of paths) {
    const dir = dirname(resolve(path));
    const info = await stat(dir).catch(() => undefined);
    if (!info?.isDirectory()) throw new UsageError(`--out ${out}: directory ${dir} does not exist`, { hint: `create it first (mkdir -p ${dir})` });
    try {
      await access(dir, constants.W_OK);
      const existing = await stat(path).catch(() => undefined);
      if (existing?.isDirectory()) throw new UsageError(`--out ${path} is a directory`, { hint: 'give a file name, e.g. answers.jsonl' });
      if (existing) await access(path, constants.W_OK);
    } catch (err) {
      if (err instanceof UsageError) throw err;
      throw new UsageError(`--out ${path} cannot be written: ${(err as Error).message}`, { hint: 'choose a writable path' });
    }
  }
}

/** `--with-text`: each record's passages get their text, looked up in the snapshot that answered. */
export async function addPassageText(store: ObjectStore, records: QaRecord[]): Promise<QaRecord[]> {
  const bySnapshot = new Map<string, Set<string>>();
  for (const r of records) {
    if (!r.docs.length || r.docs.every((d) => d.text !== undefined)) continue;
    const ids = bySnapshot.get(r.snapshot) ?? new Set<string>();
    for (const d of r.docs) ids.add(d.id);
    bySnapshot.set(r.snapshot, ids);
  }
  const texts = new Map<string, string>();
  const registry = new SnapshotRegistry(store);
  for (const [snapshot, ids] of bySnapshot) {
    const found = await lookupPassages(store, await registry.read(snapshot), [...ids]);
    for (const [id, p] of found) texts.set(`${snapshot}\u0000${id}`, p.text);
  }
  return records.map((r) => ({ ...r, docs: r.docs.map((d) => ({ ...d, text: d.text ?? texts.get(`${r.snapshot}\u0000${d.id}`) })) }));
}

/** Worker processes for generation: embedded default 2, distributed default 0 (remote `./rag worker --roles generate`). */
export function generationWorkers(rt: ReturnType<typeof createRuntime>, n: number | undefined): number {
  const workers = n ?? (rt.config.redis.url ? 0 : 2);
  if (!rt.config.redis.url && workers < 1) throw new UsageError('--workers must be at least 1 in embedded mode (no REDIS_URL)');
  return workers;
}

/** `answers.jsonl` -> `answers.summary.json`: the run's summary beside its records. */
export function summaryPath(out: string): string {
  return out.replace(/\.(jsonl?|ndjson|csv|tsv)$/i, '') + '.summary.json';
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/**
 * Rate over the questions this invocation answered: a resumed run's earlier answers took no time now.
 * "in 12.3 s (3.58 q/s)"; resumed: "in 23.1 s: 44 answered now (1.90 q/s), 311 from the earlier attempt".
 */
export function rateText(answeredNow: number, total: number, seconds: number): string {
  const rate = (n: number) => (n > 0 ? `${(n / seconds).toFixed(2)} q/s` : 'nothing left to answer');
  if (answeredNow === total) return `in ${seconds.toFixed(1)} s (${rate(total)})`;
  return `in ${seconds.toFixed(1)} s: ${answeredNow} answered now (${rate(answeredNow)}), ${total - answeredNow} from the earlier attempt`;
}

/**
 * "gold answer in the top 1 / 5 / 20 passages: 21.0% / 43.0% / 60.0% of 100 questions (hits@K, as DPR reports)",
 * and its ceiling when known: "; a gold answer occurs anywhere in the 4424 passages of enwiki-2016 for 31 of them (15.5%)".
 */
export function hitsLine(r: NonNullable<QaSummary['retrieval']>): string {
  const ks = Object.keys(r.hits);
  const c = r.ceiling;
  const ceiling = c ? `; a gold answer occurs anywhere in the ${c.passages} passages of ${c.snapshot} for ${c.answerable} of them (${pct(c.answerable / Math.max(1, r.scored))}): the ceiling of hits@K there` : '';
  return `gold answer in the top ${ks.join(' / ')} passages: ${ks.map((k) => pct(r.hits[k]!)).join(' / ')} of ${r.scored} questions (hits@K, as DPR reports)${ceiling}`;
}

/**
 * The start of a RAG run's final line: "answered 98/100 (2 failed), EM 41.0%, F1 48.2%"; on the paper's other
 * tasks their metrics ("; FEVER: FEVER-3 acc 61.0%, FEVER-2 acc 70.2% of 100"), then retrieval's hits@K.
 */
export function answeredLine(s: QaSummary): string {
  const gold = s.em !== undefined && s.em !== null ? `, EM ${(s.em * 100).toFixed(1)}%, F1 ${((s.f1 ?? 0) * 100).toFixed(1)}%` : '';
  const task = s.task ? `; ${formatTaskSummary(s.task)}` : '';
  const retrieval = s.retrieval ? `; retrieval alone: ${hitsLine(s.retrieval)}` : '';
  return `answered ${s.answered}/${s.n} (${s.failed} failed)${gold}${task}${retrieval}`;
}

/** Snapshots up to this many passages are scanned for hits@K's ceiling (about 34 µs a passage: the 4,424 of the enwiki sample in 0.15 s, 250,000 in about 9 s). */
export const CEILING_MAX_PASSAGES = 250_000;

/**
 * hits@K's ceiling for a retrieve-only run on one snapshot: how many scored questions have a gold answer in
 * any passage of it. Undefined for larger snapshots (a full scan per run would cost more than the run).
 */
export async function retrievalCeiling(store: ObjectStore, records: readonly QaRecord[]): Promise<NonNullable<QaSummary['retrieval']>['ceiling']> {
  const snapshots = [...new Set(records.map((r) => r.snapshot))];
  if (snapshots.length !== 1) return undefined;
  const m = await new SnapshotRegistry(store).read(snapshots[0]!);
  if (m.passages > CEILING_MAX_PASSAGES) return undefined;
  const scored = records.filter((r) => r.gold_rank !== undefined && r.gold?.length);
  const coverage = new GoldCoverage(scored.map((r) => r.gold!));
  for await (const p of SnapshotRetriever.readPassages(store, m)) coverage.add(p.text);
  return { snapshot: m.id, answerable: coverage.answerable, passages: coverage.passages };
}

export async function qaRun(o: QaRunCliOptions): Promise<void> {
  const mode = parseMode(o.mode, { retrieveOnly: true });
  if (mode !== 'no-retrieval' && !o.snapshot) throw new UsageError('--snapshot ID|ALIAS is required', { hint: 'or use --mode no-retrieval' });
  const k = o.k ?? (mode === 'retrieve-only' ? DEFAULT_K_RETRIEVE_ONLY : DEFAULT_K);
  if (o.out) await assertOutputWritable(o.out);
  const rt = createRuntime();
  // Everything that can be refused is checked before a queue, a Redis or a worker is started; answers are
  // stored as they come, so unusable storage fails here too.
  await assertStorageWritable(rt.store);
  if (o.asOf !== undefined && !o.snapshot) throw new UsageError('--as-of needs --snapshot ALIAS');
  const target = o.snapshot === undefined ? undefined : await resolveTarget(rt, o.snapshot, o.asOf);
  if (mode !== 'no-retrieval') await assertTarget(rt, target!);
  const types = parseTypes(o.type);
  const loaded = await loadQuestionSet(o.questions, { year: o.year, limit: types ? undefined : o.limit });
  const set = types ? limitSet(selectTypes(loaded.set, types), o.limit) : loaded.set;
  const session = await openQueueSession(rt.config, rt.logger, { workers: generationWorkers(rt, o.workers), roles: 'generate' });
  try {
    const r = await runQa(rt, session, {
      questions: o.questions, target: target ?? '-', year: o.year, limit: o.limit, mode, k, beams: o.beams,
      maxLength: o.maxLength, fresh: o.fresh, progress: o.progress, set, invalid: loaded.invalid, waitForWorkers: o.waitForWorkers,
    });
    const run = { id: r.manifest.runId, resumed: r.resumed, seconds: Math.round(r.seconds * 10) / 10, answeredNow: r.answeredNow, invalidLines: r.invalid.length };
    const records = o.withText ? await addPassageText(rt.store, r.records) : r.records;
    if (mode === 'retrieve-only' && r.summary.retrieval) {
      const ceiling = await retrievalCeiling(rt.store, r.records);
      if (ceiling) r.summary.retrieval.ceiling = ceiling;
    }
    if (o.out) {
      await writeJsonl(o.out, records);
      await writeFile(summaryPath(o.out), JSON.stringify({ ...r.summary, mode, k, run }, null, 2) + '\n');
    }
    if (o.json) {
      process.stdout.write(JSON.stringify({ ...r.summary, run }) + '\n');
    } else {
      if (!o.out) for (const rec of records) process.stdout.write(JSON.stringify(rec) + '\n');
      const s = r.summary;
      const wrote = o.out ? `; wrote ${o.out} and ${summaryPath(o.out)}` : '';
      const tail = `${rateText(r.answeredNow, s.n, r.seconds)}; snapshots ${JSON.stringify(s.snapshots)}; run ${r.manifest.runId}${r.resumed ? ' (resumed)' : ''}${wrote}`;
      if (mode === 'retrieve-only') {
        const hits = s.retrieval ? `; ${hitsLine(s.retrieval)}` : '; no gold answers to score retrieval against';
        process.stderr.write(`retrieved the top ${k} passages for ${s.answered}/${s.n} questions (${s.failed} failed)${hits} ${tail}\n`);
      } else {
        process.stderr.write(`${answeredLine(s)} ${tail}\n`);
      }
    }
  } catch (err) {
    if (session.embedded) (err as { hint?: string }).hint ??= `worker logs: ${session.logDir}`;
    throw err;
  } finally {
    await session.close();
  }
}
