import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SnapshotExistsError, UsageError, assertSnapshotId, ModelLoadError } from '@rag/core';
import { detectFormat } from '@rag/corpus';
import { SnapshotRegistry, type SnapshotManifest } from '@rag/snapshot';
import { clearFinishedBuild, clearProgress, enqueueBuild, readProgress, waitForBuild, PAYLOAD_VERSION, type BuildRequest } from '@rag/pipeline';
import { createRuntime } from '../runtime.js';
import { openQueueSession, raceWorkers } from '../queue-session.js';
import { BuildProgressView } from '../build-progress-view.js';

export interface BuildOptions {
  source: string;
  snapshot: string;
  format?: 'wikixml' | 'dpr-tsv' | 'jsonl';
  workers?: number;
  shardSize: number;
  /** Passages per encode job (0 or absent: one per shard). */
  encodePart?: number;
  index: 'flat' | 'hnsw' | 'ivf';
  encoder?: string;
  words: number;
  nprobe?: number;
  nlist?: number;
  efSearch?: number;
  hnswM?: number;
  json?: boolean;
  progress?: boolean;
  /** Incremental build on this published snapshot or alias. */
  base?: string;
}

export async function snapshotBuild(o: BuildOptions): Promise<SnapshotManifest> {
  const rt = createRuntime({ encoder: o.encoder });
  const { config, logger, store } = rt;
  const snapshotId = assertSnapshotId(o.snapshot);
  const source = resolve(o.source);
  if (!existsSync(source)) throw new UsageError(`source ${o.source} does not exist`, { hint: 'pass --source PATH to a .xml/.xml.bz2 dump, a DPR .tsv or a .jsonl file' });
  const format = o.format ?? (await detectFormat(source));
  const registry = new SnapshotRegistry(store);
  if (await registry.isPublished(snapshotId)) {
    throw new SnapshotExistsError(`snapshot ${snapshotId} is already published in ${store.description}; published snapshots are immutable`, {
      hint: 'build under a new id (e.g. add a date suffix)',
    });
  }
  const encoderDir = config.encoder.dir;
  if (!existsSync(join(encoderDir, 'tokenizer.json')) || !(existsSync(join(encoderDir, 'model.onnx')) || existsSync(join(encoderDir, 'onnx', 'model.onnx')))) {
    throw new ModelLoadError(`encoder directory ${encoderDir} has no model.onnx + tokenizer.json`, {
      hint: 'pass --encoder DIR with an Optimum ONNX export (optimum-cli export onnx --model NAME DIR)',
    });
  }
  const params: Record<string, number> = {};
  if (o.nprobe !== undefined) params.nprobe = o.nprobe;
  if (o.nlist !== undefined) params.nlist = o.nlist;
  if (o.efSearch !== undefined) params.efSearch = o.efSearch;
  if (o.hnswM !== undefined) params.hnswM = o.hnswM;
  let base: string | undefined;
  if (o.base !== undefined) {
    const { AliasRegistry } = await import('@rag/registry');
    const aliases = new AliasRegistry({ store, prefix: config.redis.prefix, logger });
    try {
      base = (await aliases.resolveSnapshotRef(o.base)).snapshotId;
    } finally {
      await aliases.close();
    }
  }
  const req: BuildRequest = {
    v: PAYLOAD_VERSION,
    snapshotId,
    source: { path: source, format },
    shardSize: o.shardSize,
    wordsPerPassage: o.words,
    index: { kind: o.index, params },
    encoderDir,
    ...(base ? { base } : {}),
    ...(o.encodePart ? { encodePart: o.encodePart } : {}),
    requestedAt: new Date().toISOString(),
  };
  const workers = o.workers ?? (config.redis.url ? 0 : 2);
  if (!config.redis.url && workers < 1) throw new UsageError('--workers must be at least 1 in embedded mode (no REDIS_URL)');
  const session = await openQueueSession(config, logger, { workers });
  const view = new BuildProgressView(process.stderr, o.progress !== false);
  const ctx = { connection: session.connection, prefix: config.redis.prefix, queue: config.queue };
  const onSignal = () => { view.stop(); void session.close().then(() => process.exit(130)); };
  process.once('SIGINT', onSignal);
  try {
    const previous = await clearFinishedBuild(ctx, snapshotId);
    if (previous && previous !== 'failed' && previous !== 'completed') {
      logger.warn({ event: 'build.attach', snapshotId, state: previous }, 'a build of this snapshot is already running; waiting for it');
    } else {
      await clearProgress(session.redis, config.redis.prefix, snapshotId);
      await enqueueBuild(ctx, req);
    }
    await raceWorkers(session, waitForBuild({
      connection: session.connection,
      prefix: config.redis.prefix,
      snapshotId,
      onTick: async () => view.update(await readProgress(session.redis, config.redis.prefix, snapshotId)),
      onNoWorkers: session.workers.length > 0 ? undefined : () => process.stderr.write(`rag: no worker is listening on ${config.redis.prefix}; start some with: ./rag worker\n`),
    }));
    view.update(await readProgress(session.redis, config.redis.prefix, snapshotId));
  } catch (err) {
    if (session.embedded) (err as { hint?: string }).hint ??= `worker logs: ${session.logDir}`;
    throw err;
  } finally {
    view.stop();
    process.removeListener('SIGINT', onSignal);
    await session.close();
  }
  return registry.read(snapshotId);
}
