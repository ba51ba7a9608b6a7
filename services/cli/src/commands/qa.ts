import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { UsageError } from '@rag/core';
import type { QaRecord, QaSummary } from '@rag/eval';
import { assertStorageWritable } from '@rag/storage';
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
}

export async function writeJsonl(path: string, records: QaRecord[]): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const s = createWriteStream(path);
    s.on('error', reject);
    for (const r of records) s.write(JSON.stringify(r) + '\n');
    s.end(resolve);
  });
}

/** Worker processes for generation: embedded default 2, distributed default 0 (remote `./rag worker --roles generate`). */
export function generationWorkers(rt: ReturnType<typeof createRuntime>, n: number | undefined): number {
  const workers = n ?? (rt.config.redis.url ? 0 : 2);
  if (!rt.config.redis.url && workers < 1) throw new UsageError('--workers must be at least 1 in embedded mode (no REDIS_URL)');
  return workers;
}

/** `answers.jsonl` -> `answers.summary.json`: the run's summary beside its records. */
export function summaryPath(out: string): string {
  return out.replace(/\.jsonl?$/i, '') + '.summary.json';
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** "gold answer in the top 1 / 5 / 20 passages: 21.0% / 43.0% / 60.0% of 100 questions (hits@K, as DPR reports)". */
export function hitsLine(r: NonNullable<QaSummary['retrieval']>): string {
  const ks = Object.keys(r.hits);
  return `gold answer in the top ${ks.join(' / ')} passages: ${ks.map((k) => pct(r.hits[k]!)).join(' / ')} of ${r.scored} questions (hits@K, as DPR reports)`;
}

export async function qaRun(o: QaRunCliOptions): Promise<void> {
  const mode = parseMode(o.mode, { retrieveOnly: true });
  if (mode !== 'no-retrieval' && !o.snapshot) throw new UsageError('--snapshot ID|ALIAS is required', { hint: 'or use --mode no-retrieval' });
  const k = o.k ?? (mode === 'retrieve-only' ? DEFAULT_K_RETRIEVE_ONLY : DEFAULT_K);
  const rt = createRuntime();
  // Everything that can be refused is checked before a queue, a Redis or a worker is started; answers are
  // stored as they come, so unusable storage fails here too.
  await assertStorageWritable(rt.store);
  if (mode !== 'no-retrieval') await assertTarget(rt, o.snapshot!);
  const types = parseTypes(o.type);
  const loaded = await loadQuestionSet(o.questions, { year: o.year, limit: types ? undefined : o.limit });
  const set = types ? limitSet(selectTypes(loaded.set, types), o.limit) : loaded.set;
  const session = await openQueueSession(rt.config, rt.logger, { workers: generationWorkers(rt, o.workers), roles: 'generate' });
  try {
    const r = await runQa(rt, session, {
      questions: o.questions, target: o.snapshot ?? '-', year: o.year, limit: o.limit, mode, k, beams: o.beams,
      maxLength: o.maxLength, fresh: o.fresh, progress: o.progress, set, invalid: loaded.invalid,
    });
    const run = { id: r.manifest.runId, resumed: r.resumed, seconds: Math.round(r.seconds * 10) / 10, invalidLines: r.invalid.length };
    if (o.out) {
      await writeJsonl(o.out, r.records);
      await writeFile(summaryPath(o.out), JSON.stringify({ ...r.summary, mode, k, run }, null, 2) + '\n');
    }
    if (o.json) {
      process.stdout.write(JSON.stringify({ ...r.summary, run }) + '\n');
    } else {
      if (!o.out) for (const rec of r.records) process.stdout.write(JSON.stringify(rec) + '\n');
      const s = r.summary;
      const wrote = o.out ? `; wrote ${o.out} and ${summaryPath(o.out)}` : '';
      const tail = `in ${r.seconds.toFixed(1)} s (${(s.n / r.seconds).toFixed(2)} q/s); snapshots ${JSON.stringify(s.snapshots)}; run ${r.manifest.runId}${r.resumed ? ' (resumed)' : ''}${wrote}`;
      if (mode === 'retrieve-only') {
        const hits = s.retrieval ? `; ${hitsLine(s.retrieval)}` : '; no gold answers to score retrieval against';
        process.stderr.write(`retrieved the top ${k} passages for ${s.answered}/${s.n} questions (${s.failed} failed)${hits} ${tail}\n`);
      } else {
        const gold = s.em !== undefined && s.em !== null ? `, EM ${(s.em * 100).toFixed(1)}%, F1 ${((s.f1 ?? 0) * 100).toFixed(1)}%` : '';
        const retrieval = s.retrieval ? `; retrieval alone: ${hitsLine(s.retrieval)}` : '';
        process.stderr.write(`answered ${s.answered}/${s.n} (${s.failed} failed)${gold}${retrieval} ${tail}\n`);
      }
    }
  } catch (err) {
    if (session.embedded) (err as { hint?: string }).hint ??= `worker logs: ${session.logDir}`;
    throw err;
  } finally {
    await session.close();
  }
}
