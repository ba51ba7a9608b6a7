import { z } from 'zod';

/**
 * Stage boundaries as data: every job payload is small, versioned and carries storage keys
 * (derivable from snapshotId + shard through SnapshotLayout), never blobs. Fields added since a
 * version was cut are optional, with the old behaviour when absent, so queued jobs still parse.
 */
export const PAYLOAD_VERSION = 3;

/** Version of the ingest rules (cleaning, splitting, dedup): pages of a base snapshot are reused by source hash only under the same rules. */
export const INGEST_VERSION = 2;

const ref = z.object({ key: z.string(), sha256: z.string(), bytes: z.number().int() });

export const indexSpecPayload = z.object({
  /**
   * `auto`: Flat or IVF-PQ by the snapshot's size (resolved by the train stage, see resolveAutoKind).
   * `ivfpq`: one quantizer trained for the whole snapshot (train stage); `ivfpq-shard`: one per shard.
   */
  kind: z.enum(['auto', 'flat', 'hnsw', 'ivf', 'ivfpq', 'ivfpq-shard']),
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
  /** Incremental build: a published snapshot id (aliases are resolved by the CLI) whose unchanged work is reused. */
  base: z.string().optional(),
  /** JSONL: skip (and count) lines that are not valid records instead of failing the build. */
  skipBadLines: z.boolean().optional(),
  /**
   * Ingest jobs for one source: a multistream .bz2 dump is split into up to `jobs` byte ranges
   * at stream boundaries (from `multistreamIndex` when given), one job each. Absent: one job.
   */
  ingest: z.object({ jobs: z.number().int().min(1), multistreamIndex: z.string().optional() }).optional(),
  /**
   * Passages per encode job: a larger shard is encoded by ceil(passages / encodePart) part jobs, which
   * any worker may take, and merged by the shard's encode job. Absent: one encode job per shard.
   */
  encodePart: z.number().int().min(1).optional(),
  /** IVF-PQ with --base: train a new quantizer instead of reusing the base's. */
  retrain: z.boolean().optional(),
  /** IVF-PQ: reuse this published snapshot's quantizer (default with --base: the base's). */
  quantizerFrom: z.string().optional(),
  /** The lease holder's request digest and generation (build-lease.ts assertFence): writes of a superseded build are refused. */
  fence: z.object({ requestSha256: z.string(), generation: z.number().int().min(1) }).optional(),
  requestedAt: z.string(),
});

/** One byte range of a multistream dump: range k of n, bytes [start, end), ingested by its own job. */
export const ingestRangeJobSchema = z.object({
  v: z.literal(PAYLOAD_VERSION),
  snapshotId: z.string(),
  k: z.number().int().min(0),
  n: z.number().int().min(1),
  start: z.number().int().min(0),
  end: z.number().int().min(0),
  source: z.object({ path: z.string(), format: z.literal('wikixml') }),
  /** sha256 of the whole source, as the plan read it: range markers count only for this source. */
  sourceSha256: z.string(),
  wordsPerPassage: z.number().int().min(1),
  base: z.string().optional(),
  /** The lease holder's request digest and generation (build-lease.ts assertFence): writes of a superseded build are refused. */
  fence: z.object({ requestSha256: z.string(), generation: z.number().int().min(1) }).optional(),
});

/** A quantizer object as index jobs and manifests name it, with how it is searched. */
export const quantizerRefSchema = z.object({
  key: z.string(),
  sha256: z.string(),
  bytes: z.number().int(),
  nlist: z.number().int(),
  pqM: z.number().int(),
  pqBits: z.number().int(),
  nprobe: z.number().int(),
  rerank: z.number().int(),
});

/** What the train stage decided for every shard of the snapshot. */
export const trainedIndexSchema = z.union([
  z.object({ kind: z.literal('flat'), reason: z.string().optional() }),
  z.object({ kind: z.literal('ivfpq-lists'), quantizer: quantizerRefSchema }),
]);

export const shardJobSchema = z.object({
  v: z.literal(PAYLOAD_VERSION),
  snapshotId: z.string(),
  shard: z.number().int().min(0),
  encoderDir: z.string(),
  index: indexSpecPayload,
  /** Set on index jobs queued by the train stage (kinds auto and ivfpq): the index every shard gets. */
  trained: trainedIndexSchema.optional(),
  /**
   * A shard kept from the base snapshot whose index must be made again (the build trained another
   * quantizer): its embeddings, named by the base's manifest; it has no encode marker.
   */
  embeddings: z.object({ key: z.string(), sha256: z.string(), vectors: z.number().int(), dim: z.number().int() }).optional(),
  /** Encode jobs the shard is split into; above 1 the shard's encode job merges their parts. @defaultValue 1 */
  encodeParts: z.number().int().min(1).optional(),
  /** Set on a part job: the part (0 ≤ part < encodeParts) it encodes. */
  part: z.number().int().min(0).optional(),
  /** The lease holder's request digest and generation (build-lease.ts assertFence): writes of a superseded build are refused. */
  fence: z.object({ requestSha256: z.string(), generation: z.number().int().min(1) }).optional(),
});

export type BuildRequest = z.infer<typeof buildRequestSchema>;
export type IngestRangeJob = z.infer<typeof ingestRangeJobSchema>;
export type ShardJob = z.infer<typeof shardJobSchema>;
export type IndexSpecPayload = z.infer<typeof indexSpecPayload>;

/** Markers written by stages under snapshots/<id>/_build/; their presence means "done, skip on resume". */
/** One shard of the snapshot being built, as ingest planned it. */
export const ingestShardSchema = z.object({
  shard: z.number().int(),
  key: z.string(),
  sha256: z.string(),
  bytes: z.number().int().optional(),
  /** Rows in the passages object (= vectors); `deleted` rows are not part of the snapshot. */
  passages: z.number().int(),
  firstPassageId: z.string(),
  lastPassageId: z.string(),
  /** Byte offsets of the rows in the passages object (uint32 LE, rows + 1). */
  offsets: ref.optional(),
  /** Per-row digests of the passages object (@rag/snapshot row-sums.ts). */
  rowSums: ref.optional(),
  /** New shard: rows whose embeddings can be copied from the base instead of encoded. */
  reuse: ref.optional(),
  /** Shard taken as it is from the base snapshot: its manifest entry (no encode or index job). */
  kept: z.object({ from: z.string(), entry: z.record(z.string(), z.unknown()) }).optional(),
  deleted: ref.extend({ count: z.number().int() }).optional(),
});

const badLinesSchema = z.object({ count: z.number().int().min(1), first: z.array(z.object({ line: z.number().int(), reason: z.string() })) });

export const ingestMarkerSchema = z.object({
  v: z.literal(PAYLOAD_VERSION),
  /** sha256 of everything the stage read: a re-run with other inputs redoes it (and so every later stage). */
  inputsSha256: z.string(),
  ingestVersion: z.number().int(),
  source: z.object({ path: z.string(), sha256: z.string(), bytes: z.number(), format: z.string() }),
  shardSize: z.number().int(),
  wordsPerPassage: z.number().int(),
  /** Passages in the snapshot (rows less deleted rows). */
  passages: z.number().int(),
  duplicatesSkipped: z.number().int(),
  /** Invalid source lines skipped (--skip-bad-lines), with the first few line numbers and reasons. */
  badLinesSkipped: badLinesSchema.optional(),
  shards: z.array(ingestShardSchema),
  pages: ref.extend({ count: z.number().int() }),
  base: z.object({
    id: z.string(),
    manifestSha256: z.string(),
    pagesKept: z.number().int(),
    pagesChanged: z.number().int(),
    pagesAdded: z.number().int(),
    pagesRemoved: z.number().int(),
    shardsReused: z.number().int(),
    shardsCompacted: z.number().int(),
    passagesKept: z.number().int(),
  }).optional(),
  /** Ingested by range jobs (multistream dumps): how many, and where their split points came from. */
  ranges: z.object({ count: z.number().int(), boundaries: z.string() }).optional(),
  durationMs: z.number(),
  /** Epoch ms when the stage finished (with durationMs: the stage's span, for wall-clock reports). */
  finishedAt: z.number().optional(),
});

/** The split of a multistream dump into range jobs, written before they are queued. */
export const ingestPlanMarkerSchema = z.object({
  v: z.literal(PAYLOAD_VERSION),
  sourceSha256: z.string(),
  size: z.number().int(),
  boundaries: z.enum(['index', 'scan', 'none']),
  ranges: z.array(z.object({ start: z.number().int(), end: z.number().int() })),
  /** Epoch ms when planning began: the ingest stage's span starts here. */
  startedAt: z.number(),
});

/** What one range job made: its pages and passages, in dump order, as one content object. */
export const ingestRangeMarkerSchema = z.object({
  v: z.literal(PAYLOAD_VERSION),
  inputsSha256: z.string(),
  k: z.number().int(),
  start: z.number().int(),
  end: z.number().int(),
  pages: z.number().int(),
  passages: z.number().int(),
  /** Page records, each followed by its passage lines (see ingest-range-stage.ts). */
  output: ref,
  durationMs: z.number(),
  finishedAt: z.number(),
});

export const encodeMarkerSchema = z.object({
  v: z.literal(PAYLOAD_VERSION),
  /** sha256 of the passages object, the encoder and the reuse plan: the marker counts only for these inputs. */
  inputsSha256: z.string(),
  shard: z.number().int(),
  bytes: z.number().int(),
  /** Rows encoded here, and rows copied from the base snapshot's embeddings. */
  encoded: z.number().int(),
  reused: z.number().int(),
  key: z.string(),
  sha256: z.string(),
  vectors: z.number().int(),
  dim: z.number().int(),
  encoder: z.object({ name: z.string(), sha256: z.string(), pooling: z.string(), maxLength: z.number(), passageFormat: z.string() }),
  /** Per-row digests of the embeddings object (@rag/snapshot row-sums.ts). */
  rowSums: ref.optional(),
  /** When this stage's result was found by its inputs' sha256 instead of made: the snapshot whose build made it (stage-work.ts). */
  foundIn: z.string().optional(),
  durationMs: z.number(),
  /** Epoch ms when the stage finished (with durationMs: the stage's span, for wall-clock reports). */
  finishedAt: z.number().optional(),
});

/** One part of a shard's encode work: vectors of its rows, in row order, as a float32 LE matrix. */
export const encodePartMarkerSchema = z.object({
  v: z.literal(PAYLOAD_VERSION),
  /** sha256 of the shard's encode inputs plus the part's place (part, parts, chunk). */
  inputsSha256: z.string(),
  shard: z.number().int(),
  part: z.number().int(),
  parts: z.number().int(),
  /** The rows encoded: the part's slice of the rows not reused from a base snapshot. */
  rows: z.number().int(),
  key: z.string(),
  sha256: z.string(),
  bytes: z.number().int(),
  dim: z.number().int(),
  durationMs: z.number(),
  finishedAt: z.number().optional(),
});

export const indexMarkerSchema = z.object({
  v: z.literal(PAYLOAD_VERSION),
  /** sha256 of the embeddings object and the requested index spec. */
  inputsSha256: z.string(),
  shard: z.number().int(),
  key: z.string(),
  sha256: z.string(),
  bytes: z.number().int(),
  vectors: z.number().int(),
  kind: z.enum(['flat', 'hnsw', 'ivf', 'ivfpq', 'ivfpq-lists']),
  params: z.record(z.string(), z.union([z.number(), z.string()])),
  /** When this stage's result was found by its inputs' sha256 instead of made: the snapshot whose build made it (stage-work.ts). */
  foundIn: z.string().optional(),
  durationMs: z.number(),
  /** Epoch ms when the stage finished (with durationMs: the stage's span, for wall-clock reports). */
  finishedAt: z.number().optional(),
});

/** How well a quantizer fits the snapshot's vectors (see quantizerFit in train-stage.ts). */
export const quantizerFitSchema = z.object({ recall10: z.number(), queries: z.number().int(), corpus: z.number().int() });

/** The train stage's marker: the snapshot's index, and its quantizer when IVF-PQ. */
export const trainMarkerSchema = z.object({
  v: z.literal(PAYLOAD_VERSION),
  /** sha256 of every shard's embeddings, the index request and the quantizer reused, if any. */
  inputsSha256: z.string(),
  dim: z.number().int(),
  /** What every shard gets: flat, or lists under the quantizer below. */
  kind: z.enum(['flat', 'hnsw', 'ivf', 'ivfpq']),
  /** Why (auto's choice, or a fallback to flat). */
  reason: z.string().optional(),
  quantizer: quantizerRefSchema.extend({
    /** Training: sample vectors, k-means iterations, milliseconds (absent when reused). */
    trainVectors: z.number().int().optional(),
    trainIterations: z.number().int().optional(),
    trainedOn: z.number().int().optional(),
    trainMs: z.number().optional(),
    /** The snapshot whose quantizer this is, when reused (--base or --quantizer-from). */
    reusedFrom: z.string().optional(),
    fit: quantizerFitSchema,
  }).optional(),
  /** When this stage's result was found by its inputs' sha256 instead of made: the snapshot whose build made it (stage-work.ts). */
  foundIn: z.string().optional(),
  durationMs: z.number(),
  finishedAt: z.number(),
});

export type IngestMarker = z.infer<typeof ingestMarkerSchema>;
export type IngestPlanMarker = z.infer<typeof ingestPlanMarkerSchema>;
export type IngestRangeMarker = z.infer<typeof ingestRangeMarkerSchema>;
export type IngestShard = z.infer<typeof ingestShardSchema>;
export type EncodeMarker = z.infer<typeof encodeMarkerSchema>;
export type IndexMarker = z.infer<typeof indexMarkerSchema>;
export type TrainMarker = z.infer<typeof trainMarkerSchema>;
export type TrainedIndex = z.infer<typeof trainedIndexSchema>;
export type QuantizerRef = z.infer<typeof quantizerRefSchema>;
export type EncodePartMarker = z.infer<typeof encodePartMarkerSchema>;
