import { ShardIntegrityError, UsageError, sha256, type Logger } from '@rag/core';
import type { Passage } from '@rag/corpus';
import type { Encoder } from '@rag/encoder';
import { ShardIndex, mergeTopK } from '@rag/index';
import type { ObjectStore } from '@rag/storage';
import { SnapshotRegistry, type ShardEntry, type SnapshotManifest } from '@rag/snapshot';
import { parsePassageShard } from '@rag/pipeline';

export interface RetrievedPassage {
  id: string;
  title: string;
  text: string;
  /** Inner product question·passage: the paper's doc score before the softmax. */
  score: number;
  shard: number;
}

interface LoadedShard {
  shard: number;
  index: ShardIndex;
  passages: Passage[];
  /** Rows that are not part of this snapshot (a shard reused from a base snapshot). */
  deleted: Set<number>;
}

/**
 * A published snapshot loaded for search: every shard's FAISS index and passages, each
 * verified against the manifest's sha256 and counts. Loading is separate from
 * construction so a new snapshot can be loaded fully before a reference is swapped.
 */
export class SnapshotRetriever {
  private constructor(readonly manifest: SnapshotManifest, private readonly shards: LoadedShard[]) {}

  static async load(store: ObjectStore, snapshotId: string, logger?: Logger): Promise<SnapshotRetriever> {
    const manifest = await new SnapshotRegistry(store).read(snapshotId);
    const shards: LoadedShard[] = [];
    for (const s of manifest.shards) {
      const [indexBytes, passageBytes] = await Promise.all([store.get(s.key), store.get(s.passagesKey)]);
      if (sha256(indexBytes) !== s.sha256) throw new ShardIntegrityError(`index ${s.key} does not match the manifest sha256`, { hint: 'the object was altered; rebuild the snapshot' });
      if (sha256(passageBytes) !== s.passagesSha256) throw new ShardIntegrityError(`passages ${s.passagesKey} do not match the manifest sha256`);
      // Each shard's own parameters (v2); v1 manifests had one spec for all shards.
      const index = ShardIndex.fromBuffer(indexBytes, (s.index ?? manifest.index).params);
      const passages = parsePassageShard(passageBytes, s.passagesKey);
      if (index.ntotal !== s.vectors || passages.length !== s.passages || s.vectors !== s.passages) {
        throw new ShardIntegrityError(`shard ${s.shard}: index has ${index.ntotal} vectors, ${passages.length} passages, manifest says ${s.vectors}/${s.passages}`);
      }
      shards.push({ shard: s.shard, index, passages, deleted: await readDeleted(store, s) });
    }
    logger?.info({ event: 'snapshot.loaded', snapshotId, shards: shards.length, passages: manifest.passages }, 'snapshot loaded');
    return new SnapshotRetriever(manifest, shards);
  }

  get snapshotId(): string {
    return this.manifest.id;
  }

  /** Refuses a query encoder whose vectors cannot be compared with this snapshot's. */
  assertCompatible(encoder: Encoder, allowDifferentEncoder = false): void {
    if (encoder.dim !== this.manifest.dim) {
      throw new UsageError(`encoder ${encoder.name} gives ${encoder.dim}-d vectors but snapshot ${this.snapshotId} holds ${this.manifest.dim}-d`, {
        hint: `use the encoder the snapshot was built with (${this.manifest.encoder.name})`,
      });
    }
    const paired = encoder.settings.passageEncoderSha256 === this.manifest.encoder.sha256;
    if (!allowDifferentEncoder && !paired && encoder.sha256 !== this.manifest.encoder.sha256) {
      throw new UsageError(`snapshot ${this.snapshotId} was built with encoder ${this.manifest.encoder.sha256.slice(0, 12)}, not ${encoder.sha256.slice(0, 12)}`, {
        hint: 'pass the same --encoder as the build, or a question encoder trained against it',
      });
    }
  }

  /** Exact global top-k over all shards for each query vector ([nq, dim] row-major). */
  searchVectors(queries: Float32Array, nq: number, k: number): RetrievedPassage[][] {
    // A shard with deleted rows is asked for k more per deleted row, so k live rows remain.
    const perShard = this.shards.map((s) => ({ s, r: s.index.search(queries, nq, Math.min(k + s.deleted.size, s.index.ntotal)) }));
    const out: RetrievedPassage[][] = [];
    for (let q = 0; q < nq; q++) {
      const lists = perShard.map(({ s, r }) => {
        const kk = r.scores.length / nq;
        const scores = r.scores.subarray(q * kk, (q + 1) * kk);
        const labels = r.labels.subarray(q * kk, (q + 1) * kk);
        if (s.deleted.size === 0) return { shard: s.shard, scores, labels };
        const keep = [...labels.keys()].filter((i) => !s.deleted.has(labels[i]!));
        return { shard: s.shard, scores: keep.map((i) => scores[i]!), labels: keep.map((i) => labels[i]!) };
      });
      out.push(mergeTopK(lists, k).map((hit) => {
        const p = this.shards[hit.shard]!.passages[hit.label]!;
        return { id: p.id, title: p.title, text: p.text, score: hit.score, shard: hit.shard };
      }));
    }
    return out;
  }

  async search(encoder: Encoder, questions: string[], k: number): Promise<RetrievedPassage[][]> {
    const vecs = await encoder.encodeQueries(questions);
    return this.searchVectors(vecs, questions.length, k);
  }

  /** Passages in snapshot order (shard by shard, deleted rows left out), for `snapshot passages`. */
  static async *readPassages(store: ObjectStore, manifest: SnapshotManifest): AsyncGenerator<Passage> {
    for (const s of manifest.shards) {
      const deleted = await readDeleted(store, s);
      const rows = parsePassageShard(await store.get(s.passagesKey), s.passagesKey);
      for (let i = 0; i < rows.length; i++) if (!deleted.has(i)) yield rows[i]!;
    }
  }
}

/** The deleted rows of a shard entry (verified against the manifest), or an empty set. */
export async function readDeleted(store: ObjectStore, s: ShardEntry): Promise<Set<number>> {
  if (!s.deleted) return new Set();
  const bytes = await store.get(s.deleted.key);
  if (sha256(bytes) !== s.deleted.sha256) throw new ShardIntegrityError(`deleted rows ${s.deleted.key} do not match the manifest sha256`, { hint: 'the object was altered; rebuild the snapshot' });
  const rows = JSON.parse(bytes.toString('utf8')) as number[];
  if (rows.length !== s.deleted.count || rows.some((r) => !Number.isInteger(r) || r < 0 || r >= s.passages)) {
    throw new ShardIntegrityError(`deleted rows ${s.deleted.key} do not fit shard ${s.shard}`);
  }
  return new Set(rows);
}
