import { UsageError } from '@rag/core';

/** One shard's top-k for one query: parallel arrays, as returned by ShardIndex.search (one row). */
export interface ShardHits {
  shard: number;
  scores: ArrayLike<number>;
  labels: ArrayLike<number>;
}

export interface MergedHit {
  shard: number;
  /** Row within the shard. */
  label: number;
  score: number;
}

/** Best score first; equal scores in (shard, label) order, so results never depend on shard arrival order. */
export function compareHits(a: MergedHit, b: MergedHit): number {
  return b.score - a.score || a.shard - b.shard || a.label - b.label;
}

/**
 * Merges per-shard top-k lists into the global top-k. Exact when every shard contributed its own
 * top-k (or all its vectors): any global top-k hit is within its shard's top-k. Padding
 * (label < 0) and NaN scores are dropped.
 */
export function mergeTopK(perShard: readonly ShardHits[], k: number): MergedHit[] {
  if (!Number.isInteger(k) || k < 0) throw new UsageError(`k must be a non-negative integer, got ${k}`);
  const all: MergedHit[] = [];
  for (const s of perShard) {
    if (s.scores.length !== s.labels.length) {
      throw new UsageError(`shard ${s.shard}: ${s.scores.length} scores but ${s.labels.length} labels`);
    }
    for (let i = 0; i < s.labels.length; i++) {
      const label = s.labels[i]!;
      const score = s.scores[i]!;
      if (label >= 0 && !Number.isNaN(score)) all.push({ shard: s.shard, label, score });
    }
  }
  all.sort(compareHits);
  return all.length > k ? all.slice(0, k) : all;
}
