import { sha256 } from '@rag/core';
import { SnapshotLayout, manifestSchema, type SnapshotManifest } from '@rag/snapshot';
import type { ObjectStore } from '@rag/storage';

/**
 * Test fixture: publishes a schema-valid manifest (and nothing else) under `id`, which is all the
 * alias registry looks at. Tests of aliasing need published snapshots, not encoded corpora.
 */
export async function publishManifestOnly(store: ObjectStore, id: string, passages = 10): Promise<SnapshotManifest> {
  const layout = new SnapshotLayout(id);
  const digest = sha256(id);
  const manifest = manifestSchema.parse({
    format: 'rag-snapshot',
    version: 1,
    id,
    status: 'ready',
    createdAt: new Date().toISOString(),
    passages,
    vectors: passages,
    dim: 4,
    shardSize: passages,
    index: { kind: 'flat', metric: 'ip', params: {} },
    shards: [{
      shard: 0, key: layout.index(0), sha256: digest, bytes: 0, passages, vectors: passages,
      passagesKey: layout.passages(0), passagesSha256: digest, embeddingsKey: layout.embeddings(0), embeddingsSha256: digest,
      firstPassageId: `${id}:0`, lastPassageId: `${id}:${passages - 1}`,
    }],
    encoder: { name: 'fixture', sha256: digest, dim: 4, pooling: 'mean', maxLength: 8, passageFormat: '{title}\n{text}' },
    source: { path: `/fixtures/${id}.jsonl`, sha256: digest, bytes: 0, format: 'jsonl', wordsPerPassage: 100 },
    build: { durationMs: 0, stagesMs: {} },
  });
  await store.put(layout.manifest, JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}
