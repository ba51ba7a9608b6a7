import type { Logger } from '@rag/core';
import type { Encoder } from '@rag/encoder';
import { getFaissThreads, trainedForSnapshot } from '@rag/index';
import type { ObjectStore } from '@rag/storage';
import type { SnapshotManifest } from '@rag/snapshot';
import { runEncode } from './encode-stage.js';
import { runIndex } from './index-stage.js';
import { runIngest } from './ingest-stage.js';
import { PAYLOAD_VERSION, type BuildRequest, type ShardJob } from './job-payloads.schema.js';
import { runPublish } from './publish-stage.js';
import { runTrain, shardsToIndex, trainedIndexOf } from './train-stage.js';

export interface InProcessBuildDeps {
  store: ObjectStore;
  encoder: Encoder;
  logger: Logger;
  /**
   * Only these shards, then stop before publishing (a build left half done, to resume): encoded, and
   * indexed too where the index is per shard (a snapshot-wide one waits for every shard's vectors).
   */
  only?: number[];
}

/**
 * The whole build in this process, stage by stage in the order the queue runs them (ingest, encode
 * each shard to build, the train stage where the index is decided for the snapshot, index, publish):
 * for tests and benchmarks that need a snapshot without Redis and workers. Same markers, same objects.
 */
export async function runBuildInProcess(req: BuildRequest, deps: InProcessBuildDeps): Promise<SnapshotManifest | undefined> {
  const { store, encoder, logger } = deps;
  const ingest = await runIngest(req, { store, logger });
  const job: Omit<ShardJob, 'shard'> = { v: PAYLOAD_VERSION, snapshotId: req.snapshotId, encoderDir: req.encoderDir, index: req.index };
  const snapshotWide = trainedForSnapshot(req.index.kind);
  for (const s of ingest.shards) {
    if (s.kept || (deps.only && !deps.only.includes(s.shard))) continue;
    await runEncode({ ...job, shard: s.shard }, { store, encoder, logger });
    if (deps.only && !snapshotWide) await runIndex({ ...job, shard: s.shard }, { store, logger });
  }
  if (deps.only) return undefined;
  if (snapshotWide) {
    const marker = await runTrain(req, { store, logger, threads: getFaissThreads() });
    const trained = trainedIndexOf(marker);
    for (const s of shardsToIndex(ingest, trained, marker.dim)) await runIndex({ ...job, shard: s.shard, trained, ...(s.embeddings ? { embeddings: s.embeddings } : {}) }, { store, logger });
  } else {
    for (const s of ingest.shards) if (!s.kept) await runIndex({ ...job, shard: s.shard }, { store, logger });
  }
  return runPublish(req, { store, logger });
}
