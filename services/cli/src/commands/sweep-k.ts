import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { UsageError } from '@rag/core';
import { formatSweepTable, renderSweepK, type SweepRow } from '@rag/eval';
import { createRuntime } from '../runtime.js';
import { openQueueSession } from '../queue-session.js';
import { parseMode, runQa } from '../qa-runner.js';
import { generationWorkers } from './qa.js';

export interface SweepOptions {
  questions: string;
  snapshot: string;
  k: string;
  year?: string;
  mode: string;
  beams: number;
  limit?: number;
  /** Default: sweep-k.html under RAG_HOME (./.rag), so that the working directory stays clean. */
  out?: string;
  workers?: number;
  json?: boolean;
  progress?: boolean;
}

export function parseKList(v: string): number[] {
  const ks = v.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (!ks.length || ks.some((k) => !Number.isInteger(k) || k < 1 || k > 100)) throw new UsageError(`--k ${v}: expected a comma-separated list of integers 1..100`, { hint: 'e.g. --k 1,2,5,10,20' });
  return [...new Set(ks)].sort((a, b) => a - b);
}

/** EM/F1 as a function of the number of retrieved passages K (the paper's Figure 3). */
export async function sweepK(o: SweepOptions): Promise<void> {
  const ks = parseKList(o.k);
  const mode = parseMode(o.mode);
  if (mode === 'no-retrieval') throw new UsageError('sweep-k needs retrieval', { hint: 'use --mode rag-token or rag-sequence' });
  const rt = createRuntime();
  const session = await openQueueSession(rt.config, rt.logger, { workers: generationWorkers(rt, o.workers), roles: 'generate' });
  const rows: (SweepRow & { em: number; f1: number; latencyMs: number })[] = [];
  try {
    for (const k of ks) {
      const r = await runQa(rt, session, { questions: o.questions, target: o.snapshot, year: o.year, limit: o.limit, mode, k, beams: o.beams, progress: o.progress, label: `K=${k}` });
      const lat = r.records.map((x) => x.latency_ms);
      rows.push({ k, em: r.summary.em ?? 0, f1: r.summary.f1 ?? 0, n: r.summary.n, latencyMs: lat.reduce((a, b) => a + b, 0) / Math.max(1, lat.length), ...(r.summary.task ? { task: r.summary.task } : {}) });
    }
  } finally {
    await session.close();
  }
  const out = o.out ? resolve(o.out) : join(rt.config.home, 'sweep-k.html');
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, renderSweepK({ snapshot: o.snapshot, rows }));
  if (o.json) process.stdout.write(JSON.stringify({ snapshot: o.snapshot, mode, rows }) + '\n');
  else process.stdout.write(formatSweepTable(rows) + `\nplot: ${out}\n`);
}
