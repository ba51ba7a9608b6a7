import { z } from 'zod';

/** Version 1 of the published snapshot manifest. Readers refuse versions they do not know. */
export const MANIFEST_VERSION = 1;

const sha = z.string().regex(/^[0-9a-f]{64}$/);

export const shardEntrySchema = z.object({
  shard: z.number().int().min(0),
  /** Key of the FAISS index file of this shard. */
  key: z.string(),
  sha256: sha,
  bytes: z.number().int().min(0),
  passages: z.number().int().min(1),
  vectors: z.number().int().min(1),
  passagesKey: z.string(),
  passagesSha256: sha,
  embeddingsKey: z.string(),
  embeddingsSha256: sha,
  firstPassageId: z.string(),
  lastPassageId: z.string(),
});

export const indexSpecSchema = z.object({
  kind: z.enum(['flat', 'hnsw', 'ivf']),
  metric: z.literal('ip'),
  params: z.record(z.string(), z.union([z.number(), z.string()])).default({}),
});

export const manifestSchema = z.object({
  format: z.literal('rag-snapshot'),
  version: z.literal(MANIFEST_VERSION),
  id: z.string(),
  status: z.literal('ready'),
  createdAt: z.string(),
  passages: z.number().int().min(1),
  vectors: z.number().int().min(1),
  dim: z.number().int().min(1),
  shardSize: z.number().int().min(1),
  index: indexSpecSchema,
  shards: z.array(shardEntrySchema).min(1),
  encoder: z.object({
    name: z.string(),
    sha256: sha,
    dim: z.number().int(),
    pooling: z.string(),
    maxLength: z.number().int(),
    passageFormat: z.string(),
  }),
  source: z.object({
    path: z.string(),
    sha256: sha,
    bytes: z.number().int().min(0),
    format: z.enum(['wikixml', 'dpr-tsv', 'jsonl']),
    wordsPerPassage: z.number().int(),
  }),
  build: z.object({
    durationMs: z.number().int().min(0),
    /** Job time summed per stage (across workers). */
    stagesMs: z.record(z.string(), z.number()),
    /** Wall-clock span per stage: first job start to last job finish. */
    stagesWallMs: z.record(z.string(), z.number()).optional(),
    workers: z.number().int().min(0).optional(),
  }),
});

export type ShardEntry = z.infer<typeof shardEntrySchema>;
export type IndexSpec = z.infer<typeof indexSpecSchema>;
export type SnapshotManifest = z.infer<typeof manifestSchema>;
