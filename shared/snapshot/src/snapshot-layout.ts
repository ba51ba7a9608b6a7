import { assertSnapshotId } from '@rag/core';

/**
 * Object keys of a snapshot. Everything a snapshot owns lives under `snapshots/<id>/`;
 * `manifest.json` is written last and is what makes the snapshot exist for readers.
 * Shard numbers are zero-padded so that keys sort in shard order.
 */
export class SnapshotLayout {
  readonly root: string;
  constructor(readonly snapshotId: string) {
    assertSnapshotId(snapshotId);
    this.root = `snapshots/${snapshotId}`;
  }
  static shardName(shard: number): string {
    return String(shard).padStart(5, '0');
  }
  get manifest(): string { return `${this.root}/manifest.json`; }
  passages(shard: number): string { return `${this.root}/passages/${SnapshotLayout.shardName(shard)}.jsonl`; }
  embeddings(shard: number): string { return `${this.root}/embeddings/${SnapshotLayout.shardName(shard)}.f32`; }
  index(shard: number): string { return `${this.root}/index/${SnapshotLayout.shardName(shard)}.faiss`; }
  /** Build-time markers: a stage's output is done once its marker exists (resume skips it). */
  get buildPrefix(): string { return `${this.root}/_build/`; }
  ingestMarker(): string { return `${this.root}/_build/ingest.json`; }
  /** A multistream dump's split into range jobs, and what each range job made. */
  ingestPlanMarker(): string { return `${this.root}/_build/ingest-plan.json`; }
  ingestRangeMarker(k: number): string { return `${this.root}/_build/ingest-range-${SnapshotLayout.shardName(k)}.json`; }
  encodeMarker(shard: number): string { return `${this.root}/_build/encode-${SnapshotLayout.shardName(shard)}.json`; }
  /** Marker of one part of a shard's encode work (shards split into several encode jobs). */
  encodePartMarker(shard: number, part: number): string { return `${this.root}/_build/encode-${SnapshotLayout.shardName(shard)}-p${String(part).padStart(4, '0')}.json`; }
  indexMarker(shard: number): string { return `${this.root}/_build/index-${SnapshotLayout.shardName(shard)}.json`; }
  /** The train stage's decision: the index of the snapshot and, for IVF-PQ, its quantizer. */
  trainMarker(): string { return `${this.root}/_build/train.json`; }
}

export const SNAPSHOTS_PREFIX = 'snapshots/';
