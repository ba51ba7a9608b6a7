import { ShardIntegrityError, UsageError, sha256, type Logger } from '@rag/core';
import type { Passage } from '@rag/corpus';
import type { Encoder } from '@rag/encoder';
import { ShardIndex, mergeTopK } from '@rag/index';
import type { ObjectStore } from '@rag/storage';
import { SnapshotRegistry, type SnapshotManifest } from '@rag/snapshot';
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
      const index = ShardIndex.fromBuffer(indexBytes, manifest.index.params);
      const passages = parsePassageShard(passageBytes, s.passagesKey);
      if (index.ntotal !== s.vectors || passages.length !== s.passages || s.vectors !== s.passages) {
        throw new ShardIntegrityError(`shard ${s.shard}: index has ${index.ntotal} vectors, ${passages.length} passages, manifest says ${s.vectors}/${s.passages}`);
      }
      shards.push({ shard: s.shard, index, passages });
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
    const perShard = this.shards.map((s) => ({ s, r: s.index.search(queries, nq, Math.min(k, s.index.ntotal)) }));
    const out: RetrievedPassage[][] = [];
    for (let q = 0; q < nq; q++) {
      const lists = perShard.map(({ s, r }) => {
        const kk = r.scores.length / nq;
        return { shard: s.shard, scores: r.scores.subarray(q * kk, (q + 1) * kk), labels: r.labels.subarray(q * kk, (q + 1) * kk) };
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

  /** Passages in snapshot order (shard by shard), for `snapshot passages`. */
  static async *readPassages(store: ObjectStore, manifest: SnapshotManifest): AsyncGenerator<Passage> {
    for (const s of manifest.shards) {
      for (const p of parsePassageShard(await store.get(s.passagesKey), s.passagesKey)) yield p;
    }
  }
}
