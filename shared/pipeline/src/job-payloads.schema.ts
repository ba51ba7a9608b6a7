import { z } from 'zod';

/**
 * Stage boundaries as data: every job payload is small, versioned and carries storage keys
 * (derivable from snapshotId + shard through SnapshotLayout), never blobs.
 */
export const PAYLOAD_VERSION = 1;

export const indexSpecPayload = z.object({
  kind: z.enum(['flat', 'hnsw', 'ivf']),
  params: z.record(z.string(), z.number()).default({}),
});

/** What `snapshot build` asks for; the payload of the build (publish) and ingest jobs. */
export const buildRequestSchema = z.object({
  v: z.literal(PAYLOAD_VERSION),
  snapshotId: z.string(),
  source: z.object({ path: z.string(), format: z.enum(['wikixml', 'dpr-tsv', 'jsonl']) }),
  shardSize: z.number().int().min(1),
  wordsPerPassage: z.number().int().min(1).default(100),
  index: indexSpecPayload,
  encoderDir: z.string(),
  requestedAt: z.string(),
});

export const shardJobSchema = z.object({
  v: z.literal(PAYLOAD_VERSION),
  snapshotId: z.string(),
  shard: z.number().int().min(0),
  encoderDir: z.string(),
  index: indexSpecPayload,
});

export type BuildRequest = z.infer<typeof buildRequestSchema>;
export type ShardJob = z.infer<typeof shardJobSchema>;
export type IndexSpecPayload = z.infer<typeof indexSpecPayload>;

/** Markers written by stages under snapshots/<id>/_build/; their presence means "done, skip on resume". */
export const ingestMarkerSchema = z.object({
  v: z.literal(PAYLOAD_VERSION),
  source: z.object({ path: z.string(), sha256: z.string(), bytes: z.number(), format: z.string() }),
  shardSize: z.number().int(),
  wordsPerPassage: z.number().int(),
  passages: z.number().int(),
  duplicatesSkipped: z.number().int(),
  shards: z.array(z.object({
    shard: z.number().int(),
    key: z.string(),
    sha256: z.string(),
    passages: z.number().int(),
    firstPassageId: z.string(),
    lastPassageId: z.string(),
  })),
  durationMs: z.number(),
  /** Epoch ms when the stage finished (with durationMs: the stage's span, for wall-clock reports). */
  finishedAt: z.number().optional(),
});

export const encodeMarkerSchema = z.object({
  v: z.literal(PAYLOAD_VERSION),
  shard: z.number().int(),
  key: z.string(),
  sha256: z.string(),
  vectors: z.number().int(),
  dim: z.number().int(),
  encoder: z.object({ name: z.string(), sha256: z.string(), pooling: z.string(), maxLength: z.number(), passageFormat: z.string() }),
  durationMs: z.number(),
  /** Epoch ms when the stage finished (with durationMs: the stage's span, for wall-clock reports). */
  finishedAt: z.number().optional(),
});

export const indexMarkerSchema = z.object({
  v: z.literal(PAYLOAD_VERSION),
  shard: z.number().int(),
  key: z.string(),
  sha256: z.string(),
  bytes: z.number().int(),
  vectors: z.number().int(),
  kind: z.enum(['flat', 'hnsw', 'ivf']),
  params: z.record(z.string(), z.union([z.number(), z.string()])),
  durationMs: z.number(),
  /** Epoch ms when the stage finished (with durationMs: the stage's span, for wall-clock reports). */
  finishedAt: z.number().optional(),
});

export type IngestMarker = z.infer<typeof ingestMarkerSchema>;
export type EncodeMarker = z.infer<typeof encodeMarkerSchema>;
export type IndexMarker = z.infer<typeof indexMarkerSchema>;
