import { exactMatch, f1 } from './answer-metrics.js';
import { retrievalHits } from './answer-in-passage.js';
import { QA_RECORD_VERSION, RETRIEVE_ONLY, type LatencySummary, type QaSummary } from './qa-record.js';
import { summarizeTask, type TaskScorableRecord } from './task-metrics.js';

/** The fields scoring needs; QaRecord has them all. */
export interface ScorableRecord {
  answer?: string;
  gold?: readonly string[];
  em?: number;
  f1?: number;
  error?: string;
  /** Retrieve-only records have no answer to score. */
  mode?: string;
}

export interface Aggregate {
  n: number;
  answered: number;
  failed: number;
  /** Records with a gold; em and f1 are means over these. */
  scored: number;
  /** Fractions in [0, 1]; null when nothing was scored. */
  em: number | null;
  f1: number | null;
}

export interface AggregateOptions<R> {
  /**
   * Which gold to score each record against, instead of its own em/f1/gold: used to score one run against
   * another year's answers (crossed). Records for which it returns undefined are not scored.
   */
  gold?: (record: R) => readonly string[] | undefined;
}

/**
 * EM/F1 means over the records that have a gold. A failed record with a gold counts as wrong (0), as a missing
 * answer would in the official evaluation; em/f1 already on a record are trusted, else computed from answer+gold.
 */
export function aggregate<R extends ScorableRecord>(records: Iterable<R>, opts: AggregateOptions<R> = {}): Aggregate {
  let n = 0, failed = 0, scored = 0, emSum = 0, f1Sum = 0;
  for (const r of records) {
    n++;
    if (r.error !== undefined) failed++;
    if (r.mode === RETRIEVE_ONLY) continue;
    const gold = opts.gold ? opts.gold(r) : r.gold;
    const trusted = !opts.gold && r.em !== undefined;
    if (!gold?.length && !trusted) continue;
    scored++;
    if (r.error !== undefined) continue;
    const answer = r.answer ?? '';
    emSum += trusted ? r.em! : exactMatch(answer, gold!);
    f1Sum += trusted && r.f1 !== undefined ? r.f1 : gold?.length ? f1(answer, gold) : 0;
  }
  return {
    n, answered: n - failed, failed, scored,
    em: scored ? emSum / scored : null,
    f1: scored ? f1Sum / scored : null,
  };
}

/** Nearest-rank percentile of sorted values (p in (0, 100]). */
export function percentile(sorted: readonly number[], p: number): number {
  if (!sorted.length) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** Mean/p50/p95 of latency_ms over answered records; null when none answered. */
export function latencyStats(records: Iterable<{ latency_ms?: number; error?: string }>): LatencySummary | null {
  const xs: number[] = [];
  for (const r of records) if (r.error === undefined && r.latency_ms !== undefined) xs.push(r.latency_ms);
  if (!xs.length) return null;
  xs.sort((a, b) => a - b);
  return { mean: xs.reduce((s, x) => s + x, 0) / xs.length, p50: percentile(xs, 50), p95: percentile(xs, 95) };
}

/** The summary `qa run` prints and stores beside its records. */
export function summarize(records: readonly (ScorableRecord & TaskScorableRecord & { snapshot: string; latency_ms?: number; k: number; gold_rank?: number | null })[]): QaSummary {
  const snapshots: Record<string, number> = {};
  for (const r of records) if (r.error === undefined) snapshots[r.snapshot] = (snapshots[r.snapshot] ?? 0) + 1;
  const retrieval = retrievalHits(records);
  // The paper's other tasks: their own metrics beside EM/F1 (which have no gold to score there).
  const task = summarizeTask(records);
  return { v: QA_RECORD_VERSION, ...aggregate(records), snapshots, latency_ms: latencyStats(records), ...(retrieval ? { retrieval } : {}), ...(task ? { task } : {}) };
}
