import { z } from 'zod';

/**
 * Version 3 of the published snapshot manifest: version 2 (content-addressed objects, per-shard index
 * parameters, deletion lists of shards reused from a base snapshot, a page table) plus a snapshot-wide
 * IVF-PQ quantizer whose shards hold only inverted lists. Builds write version 3 only for snapshots
 * with a quantizer, so older readers refuse just those. Versions 1 and 2 still read; readers refuse
 * versions they do not know.
 */
export const MANIFEST_VERSION = 3;

const sha = z.string().regex(/^[0-9a-f]{64}$/);

/** What a shard was built as: a FAISS index of its own, or (`ivfpq-lists`) lists under the snapshot's quantizer. */
export const indexKindSchema = z.enum(['flat', 'hnsw', 'ivf', 'ivfpq', 'ivfpq-lists']);
/** What a build asked for: a kind, or `auto` (each shard records what it got). */
export const requestedIndexKindSchema = z.enum(['auto', 'flat', 'hnsw', 'ivf', 'ivfpq', 'ivfpq-shard']);

/** An object a manifest references, with what a reader verifies. */
export const objectRefSchema = z.object({
  key: z.string(),
  sha256: sha,
  bytes: z.number().int().min(0),
});

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
  passagesBytes: z.number().int().min(0).optional(),
  embeddingsBytes: z.number().int().min(0).optional(),
  /** The index this shard was built with (v2); v1 shards use the manifest's `index`. */
  index: z.object({ kind: indexKindSchema, params: z.record(z.string(), z.union([z.number(), z.string()])).default({}) }).optional(),
  /**
   * Rows of this shard that are not part of the snapshot (a shard reused from a base snapshot whose
   * pages changed or went away since): a JSON array of labels, ascending. Search skips them.
   */
  deleted: objectRefSchema.extend({ count: z.number().int().min(1) }).optional(),
  /**
   * Byte offset of every row in the passages object, uint32 little-endian, rows + 1 entries: serving
   * reads just the passages a question needs (range reads) instead of holding every shard's text.
   */
  offsets: objectRefSchema.optional(),
  /** Per-row digests (row-sums.ts) of the passages and of the embeddings: range reads are checked row by row. */
  passagesRowSums: objectRefSchema.optional(),
  embeddingsRowSums: objectRefSchema.optional(),
});

export const indexSpecSchema = z.object({
  kind: requestedIndexKindSchema,
  metric: z.literal('ip'),
  params: z.record(z.string(), z.union([z.number(), z.string()])).default({}),
});

export const manifestSchema = z.object({
  format: z.literal('rag-snapshot'),
  version: z.union([z.literal(1), z.literal(2), z.literal(MANIFEST_VERSION)]),
  id: z.string(),
  status: z.literal('ready'),
  createdAt: z.string(),
  /** Passages (and vectors) in the snapshot: rows of all shards less deleted rows. */
  passages: z.number().int().min(1),
  vectors: z.number().int().min(1),
  dim: z.number().int().min(1),
  shardSize: z.number().int().min(1),
  index: indexSpecSchema,
  shards: z.array(shardEntrySchema).min(1),
  /**
   * Version 3: the snapshot-wide IVF-PQ (coarse quantizer and PQ codebooks trained once, no vectors
   * in it). Every shard of kind `ivfpq-lists` holds its vectors' codes under it; a server appends all
   * shards' lists to one index and scans `nprobe` lists per query, re-scoring the best k·rerank exactly.
   */
  quantizer: objectRefSchema.extend({
    nlist: z.number().int().min(1),
    pqM: z.number().int().min(1),
    pqBits: z.number().int().min(1),
    nprobe: z.number().int().min(1),
    rerank: z.number().int().min(1),
    /** Trained here: on how many sampled vectors, in how many milliseconds. */
    trainedOn: z.number().int().optional(),
    trainMs: z.number().optional(),
    /** Taken from this snapshot (an incremental build's base, or --quantizer-from) instead. */
    reusedFrom: z.string().optional(),
    /** recall@10 of served search against exact on a sample of this snapshot's vectors. */
    fit: z.object({ recall10: z.number(), queries: z.number().int(), corpus: z.number().int() }),
  }).optional(),
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
    /** Invalid JSONL lines skipped by `--skip-bad-lines`: how many, and the first few with their reasons. */
    badLinesSkipped: z.object({ count: z.number().int().min(1), first: z.array(z.object({ line: z.number().int(), reason: z.string() })) }).optional(),
  }),
  /** Every page (document) of the snapshot with its passages' hashes and rows: incremental builds and `diff` read it. */
  pages: objectRefSchema.extend({ count: z.number().int().min(0) }).optional(),
  /** Version of the ingest rules (cleaning, splitting): a base is reused page by page only under the same rules. */
  ingestVersion: z.number().int().optional(),
  /** Set when built with --base: what was reused from which snapshot. */
  base: z.object({
    id: z.string(),
    manifestSha256: sha,
    passagesReused: z.number().int().min(0),
    passagesEncoded: z.number().int().min(0),
    shardsReused: z.number().int().min(0),
    shardsBuilt: z.number().int().min(0),
  }).optional(),
  build: z.object({
    durationMs: z.number().int().min(0),
    /** Job time summed per stage (across workers). */
    stagesMs: z.record(z.string(), z.number()),
    /** Wall-clock span per stage: first job start to last job finish. */
    stagesWallMs: z.record(z.string(), z.number()).optional(),
    workers: z.number().int().min(0).optional(),
    /**
     * Work this build did, and work it found done by earlier builds of the same inputs under other
     * snapshot ids (stage-work.ts): passages run through the encoder here, passages whose embeddings
     * were found, shards whose index was found, and the snapshots that made what was found.
     */
    work: z.object({
      passagesEncoded: z.number().int().min(0),
      passagesFound: z.number().int().min(0),
      shardsEncodeFound: z.number().int().min(0),
      shardsIndexFound: z.number().int().min(0),
      trainFound: z.boolean().optional(),
      foundIn: z.array(z.string()),
    }).optional(),
    /** buildRequestSha256 of the build that published it: a second publisher of the id tells whether it is its own. */
    requestSha256: z.string().optional(),
  }),
});

export type ObjectRef = z.infer<typeof objectRefSchema>;
export type ShardEntry = z.infer<typeof shardEntrySchema>;
export type IndexSpec = z.infer<typeof indexSpecSchema>;
export type SnapshotManifest = z.infer<typeof manifestSchema>;
