import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { BuildConflictError, SnapshotExistsError, UsageError, assertSnapshotId, ModelLoadError } from '@rag/core';
import { detectFormat } from '@rag/corpus';
import { SnapshotRegistry, type SnapshotManifest } from '@rag/snapshot';
import { assertStorageWritable } from '@rag/storage';
import { claimBuild, clearFinishedBuild, clearProgress, readResumeState, resumeLine, createSourceOpener, describeHolder, diffBuildRequests, enqueueBuild, queuedBuildRequest, readProgress, waitForBuild, PAYLOAD_VERSION, type BuildRequest } from '@rag/pipeline';
import { createRuntime } from '../runtime.js';
import { openQueueSession, raceWorkers } from '../queue-session.js';
import { BuildProgressView } from '../build-progress-view.js';
import { onInterrupt } from '../interrupt.js';

export interface BuildOptions {
  source: string;
  snapshot: string;
  format?: 'wikixml' | 'dpr-tsv' | 'jsonl';
  workers?: number;
  shardSize: number;
  /** Default: auto, or the base snapshot's index with --base. */
  index?: 'auto' | 'flat' | 'hnsw' | 'ivf' | 'ivfpq' | 'ivfpq-shard';
  /** Passages per encode job (0 or absent: one per shard). */
  encodePart?: number;
  encoder?: string;
  words: number;
  nprobe?: number;
  nlist?: number;
  pqM?: number;
  pqBits?: number;
  rerank?: number;
  /** IVF-PQ with --base: a new quantizer instead of the base's. */
  retrain?: boolean;
  /** IVF-PQ: reuse this snapshot's (or alias's) quantizer. */
  quantizerFrom?: string;
  flatBudgetMb?: number;
  efSearch?: number;
  hnswM?: number;
  json?: boolean;
  progress?: boolean;
  /** Incremental build on this published snapshot or alias. */
  base?: string;
  /** JSONL: skip and count invalid lines instead of failing on the first. */
  skipBadLines?: boolean;
  /** Ingest jobs for a multistream .bz2 dump (default: the number of workers). */
  ingestJobs?: number;
  /** Wikipedia's multistream index file (default: …-index.txt.bz2 beside the dump, if there). */
  multistreamIndex?: string;
  /** Distributed mode: wait for workers without end (default: give up after RAG_NO_WORKER_WAIT_S). */
  waitForWorkers?: boolean;
}

export async function snapshotBuild(o: BuildOptions): Promise<SnapshotManifest> {
  const rt = createRuntime({ encoder: o.encoder });
  const { config, logger, store } = rt;
  const snapshotId = assertSnapshotId(o.snapshot);
  const remote = o.source.startsWith('s3://');
  const source = remote ? o.source : resolve(o.source);
  if (!remote && !existsSync(source)) throw new UsageError(`source ${o.source} does not exist`, { hint: 'pass --source PATH to a .xml/.xml.bz2 dump, a DPR .tsv or a .jsonl file, or s3://bucket/key' });
  const multistreamIndex = o.multistreamIndex === undefined || o.multistreamIndex.startsWith('s3://') ? o.multistreamIndex : resolve(o.multistreamIndex);
  let format = o.format;
  const sources = createSourceOpener(config.storage);
  try {
    // An s3:// source is checked here (one clear error for a missing bucket or object) and read by the workers.
    const src = await sources.open(source);
    await src.size();
    format ??= await detectFormat(source, { source: src });
    if (multistreamIndex) await (await sources.open(multistreamIndex)).size();
  } finally {
    await sources.close();
  }
  if (o.skipBadLines && format !== 'jsonl') {
    throw new UsageError(`--skip-bad-lines is for JSONL corpora; ${o.source} is ${format}`, {
      hint: format === 'dpr-tsv' ? 'a bad DPR row means a damaged file: fix the row or download the file again' : 'drop --skip-bad-lines',
    });
  }
  // Before any worker starts: unusable storage fails here, in one line, not in jobs.
  await assertStorageWritable(store);
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
  if (o.pqM !== undefined) params.pqM = o.pqM;
  if (o.pqBits !== undefined) params.pqBits = o.pqBits;
  if (o.rerank !== undefined) params.rerank = o.rerank;
  if (o.flatBudgetMb !== undefined) params.flatBudgetMiB = o.flatBudgetMb;
  let index: BuildRequest['index'] = { kind: o.index ?? 'auto', params };
  let base: string | undefined;
  let quantizerFrom: string | undefined;
  if (o.retrain && o.base === undefined) throw new UsageError('--retrain is for incremental builds (--base): a full build trains its quantizer anyway');
  if (o.retrain && o.quantizerFrom !== undefined) throw new UsageError('--retrain and --quantizer-from contradict each other: train a new quantizer, or reuse that one');
  if (o.base !== undefined || o.quantizerFrom !== undefined) {
    const { AliasRegistry } = await import('@rag/registry');
    const aliases = new AliasRegistry({ store, prefix: config.redis.prefix, logger });
    try {
      if (o.base !== undefined) base = (await aliases.resolveSnapshotRef(o.base)).snapshotId;
      if (o.quantizerFrom !== undefined) quantizerFrom = (await aliases.resolveSnapshotRef(o.quantizerFrom)).snapshotId;
    } finally {
      await aliases.close();
    }
  }
  if (quantizerFrom !== undefined && !(await registry.read(quantizerFrom)).quantizer) {
    throw new UsageError(`snapshot ${quantizerFrom} has no trained quantizer to reuse`, { hint: 'name a snapshot built with --index ivfpq (or auto above --flat-budget-mb), or leave out --quantizer-from' });
  }
  if (base !== undefined) {
    // A nightly build keeps its base's index unless told otherwise (unchanged shards keep theirs anyway).
    if (o.index === undefined && Object.keys(params).length === 0) {
      const b = await registry.read(base);
      index = { kind: b.index.kind, params: Object.fromEntries(Object.entries(b.index.params).filter((e): e is [string, number] => typeof e[1] === 'number')) };
    }
  }
  const req: BuildRequest = {
    v: PAYLOAD_VERSION,
    snapshotId,
    source: { path: source, format },
    shardSize: o.shardSize,
    wordsPerPassage: o.words,
    index,
    encoderDir,
    ...(base ? { base } : {}),
    ...(o.skipBadLines ? { skipBadLines: true } : {}),
    ...(o.encodePart ? { encodePart: o.encodePart } : {}),
    ...(o.retrain ? { retrain: true } : {}),
    ...(quantizerFrom ? { quantizerFrom } : {}),
    requestedAt: new Date().toISOString(),
  };
  const workers = o.workers ?? (config.redis.url ? 0 : 2);
  if (!config.redis.url && workers < 1) throw new UsageError('--workers must be at least 1 in embedded mode (no REDIS_URL)');
  // One build per id per storage, whatever Redis each CLI uses (two embedded CLIs share only storage).
  let lostLease: (err: Error) => void = () => {};
  const leaseLost = new Promise<never>((_, reject) => { lostLease = reject; });
  leaseLost.catch(() => {});
  const claim = await claimBuild(store, req, {
    logger,
    onGcWait: once(() => process.stderr.write(`rag: a one-pass snapshot gc (--grace 0) is running on ${store.description}; waiting for it before building\n`)),
    onWaiting: (holder, expiresInMs) => process.stderr.write(`rag: snapshot ${snapshotId} is being built by ${describeHolder(holder)} with the same arguments; waiting for it (if that process is gone, its lease expires in ${Math.ceil(expiresInMs / 1000)} s and this command takes over)\n`),
    onLost: (by) => lostLease(new BuildConflictError(`the build lease of ${snapshotId} was taken over${by ? ` by ${describeHolder(by)}` : ''}: this command stalled longer than the lease lasts`, {
      hint: 'finished work is kept; let the other build finish, or run the same command again',
    })),
  });
  if ('published' in claim) return registry.read(snapshotId);
  const { lease } = claim;
  // Every job of this build carries the lease's request digest: a takeover by another build of the id fences them out.
  req.fence = { requestSha256: lease.record.requestSha256, generation: lease.record.generation };
  let session;
  try {
    session = await openQueueSession(config, logger, { workers, sourceRoots: remote ? [] : [dirname(source)] });
  } catch (err) {
    await lease.release();
    throw err;
  }
  // Range jobs for a multistream dump: as many as there are ingest workers, unless told.
  const ingestJobs = o.ingestJobs ?? (workers > 0 ? workers : await countIngestWorkers(session.connection, config.redis.prefix));
  if (format === 'wikixml') req.ingest = { jobs: ingestJobs, ...(multistreamIndex ? { multistreamIndex } : {}) };
  const view = new BuildProgressView(process.stderr, o.progress !== false);
  const ctx = { connection: session.connection, prefix: config.redis.prefix, queue: config.queue };
  // Stopped by a signal: the workers stop first, then the lease is given up (nobody may start while they write).
  const stopping = session;
  const unregister = onInterrupt(async () => {
    view.stop();
    await stopping.close();
    await lease.release();
  });
  try {
    const previous = await clearFinishedBuild(ctx, snapshotId);
    if (previous && previous !== 'failed' && previous !== 'completed') {
      // Same Redis, build already queued: attach only if it is this very build.
      const running = await queuedBuildRequest(ctx, snapshotId);
      const diffs = running ? diffBuildRequests(running, req) : [];
      if (diffs.length) {
        throw new BuildConflictError(`a build of ${snapshotId} with other arguments is ${previous} on this queue: ${diffs.join('; ')}`, {
          hint: 'wait for it to finish (./rag snapshot build with its arguments waits for it), or build under another id',
        });
      }
      process.stderr.write(`rag: a build of ${snapshotId} with the same arguments is already ${previous} on this queue; waiting for it\n`);
    } else {
      const left = await readResumeState(store, snapshotId);
      if (left) process.stderr.write(`rag: ${resumeLine(snapshotId, left)}\n`);
      await clearProgress(session.redis, config.redis.prefix, snapshotId);
      await enqueueBuild(ctx, req);
    }
    const noWorkerGiveUpMs = o.waitForWorkers ? 0 : config.queue.noWorkerWaitS * 1000;
    await Promise.race([leaseLost, raceWorkers(session, waitForBuild({
      connection: session.connection,
      prefix: config.redis.prefix,
      snapshotId,
      onTick: async () => view.update(await readProgress(session.redis, config.redis.prefix, snapshotId)),
      onNoWorkers: session.workers.length > 0 ? undefined : (queues) => process.stderr.write(
        `rag: no worker is listening on queue(s) ${queues.join(', ')} (prefix ${config.redis.prefix}); start some with the same REDIS_URL and RAG_STORAGE: ` +
          `./rag worker --roles ${[...new Set(queues.map((q) => (q === 'publish' ? 'index' : q)))].join(',')}` +
          `${noWorkerGiveUpMs ? `; waiting ${noWorkerGiveUpMs / 1000} s for one (--wait-for-workers: without end)` : ''}\n`,
      ),
      noWorkerGiveUpMs,
    }))]);
    view.finish(await readProgress(session.redis, config.redis.prefix, snapshotId));
  } catch (err) {
    if (session.embedded) (err as { hint?: string }).hint ??= `worker logs: ${session.logDir}`;
    throw err;
  } finally {
    view.stop();
    unregister();
    await session.close();
    await lease.release();
  }
  const manifest = await registry.read(snapshotId);
  const bad = manifest.source.badLinesSkipped;
  if (bad) {
    // Reported as the question readers report theirs: the count, then the first few lines and why.
    process.stderr.write(`rag: skipped ${bad.count} bad line(s) of ${source} (--skip-bad-lines)\n`);
    for (const b of bad.first) process.stderr.write(`rag: ${source}:${b.line}: skipped: ${b.reason}\n`);
  }
  // A compressed index asked for (or chosen by auto) but built Flat costs Flat's memory: say so once.
  const fellBack = manifest.shards.filter((s) => typeof s.index?.params.fallbackReason === 'string');
  if (fellBack.length > 0) {
    const first = fellBack[0]!.index!;
    process.stderr.write(`rag: note: ${fellBack.length} of ${manifest.shards.length} shard(s) were built ${first.kind} instead of ${String(first.params.requestedKind)}: ${String(first.params.fallbackReason)}\n`);
  }
  const q = manifest.quantizer;
  if (q?.reusedFrom) {
    // How well the reused quantizer fits tonight's vectors, beside how well it fit when trained.
    const trainedFit = await registry.read(q.reusedFrom).then((b) => b.quantizer?.fit.recall10, () => undefined);
    process.stderr.write(`rag: quantizer of ${q.reusedFrom} reused: recall@10 ${q.fit.recall10.toFixed(3)} against exact on a sample of this snapshot${trainedFit !== undefined ? ` (${trainedFit.toFixed(3)} on ${q.reusedFrom}'s own)` : ''}; build with --retrain when it drops\n`);
  }
  return manifest;
}

/** Workers listening on the ingest queue now (distributed mode); at least 1. */
async function countIngestWorkers(connection: import('ioredis').Redis, prefix: string): Promise<number> {
  const { Queue } = await import('bullmq');
  const q = new Queue('ingest', { connection, prefix });
  try {
    return Math.max(1, await q.getWorkersCount());
  } catch {
    return 1;
  } finally {
    await q.close();
  }
}

/** `fn` on its first call only (a waiting line printed once, not every poll). */
function once(fn: () => void): () => void {
  let done = false;
  return () => { if (!done) { done = true; fn(); } };
}
