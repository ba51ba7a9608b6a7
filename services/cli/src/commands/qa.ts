import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { UsageError } from '@rag/core';
import type { QaRecord } from '@rag/eval';
import { assertStorageWritable } from '@rag/storage';
import { createRuntime } from '../runtime.js';
import { openQueueSession } from '../queue-session.js';
import { parseMode, parseTypes, runQa } from '../qa-runner.js';

export interface QaRunCliOptions {
  questions: string;
  snapshot?: string;
  year?: string;
  limit?: number;
  mode: string;
  k: number;
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

export async function qaRun(o: QaRunCliOptions): Promise<void> {
  const mode = parseMode(o.mode);
  if (mode !== 'no-retrieval' && !o.snapshot) throw new UsageError('--snapshot ID|ALIAS is required', { hint: 'or use --mode no-retrieval' });
  const rt = createRuntime();
  // Answers are stored as they come: unusable storage fails here, before workers start.
  await assertStorageWritable(rt.store);
  const session = await openQueueSession(rt.config, rt.logger, { workers: generationWorkers(rt, o.workers), roles: 'generate' });
  try {
    const r = await runQa(rt, session, {
      questions: o.questions, target: o.snapshot ?? '-', year: o.year, limit: o.limit, mode, k: o.k, beams: o.beams,
      maxLength: o.maxLength, fresh: o.fresh, progress: o.progress, types: parseTypes(o.type),
    });
    if (o.out) await writeJsonl(o.out, r.records);
    if (o.json) {
      process.stdout.write(JSON.stringify({ ...r.summary, run: { id: r.manifest.runId, resumed: r.resumed, seconds: Math.round(r.seconds * 10) / 10, invalidLines: r.invalid.length } }) + '\n');
    } else {
      if (!o.out) for (const rec of r.records) process.stdout.write(JSON.stringify(rec) + '\n');
      const s = r.summary;
      const gold = s.em !== undefined && s.em !== null ? `, EM ${(s.em * 100).toFixed(1)}%, F1 ${((s.f1 ?? 0) * 100).toFixed(1)}%` : '';
      process.stderr.write(`answered ${s.answered}/${s.n} (${s.failed} failed)${gold} in ${r.seconds.toFixed(1)} s (${(s.n / r.seconds).toFixed(2)} q/s); snapshots ${JSON.stringify(s.snapshots)}; run ${r.manifest.runId}${r.resumed ? ' (resumed)' : ''}${o.out ? `; wrote ${o.out}` : ''}\n`);
    }
  } catch (err) {
    if (session.embedded) (err as { hint?: string }).hint ??= `worker logs: ${session.logDir}`;
    throw err;
  } finally {
    await session.close();
  }
}
