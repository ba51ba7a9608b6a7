import { stat } from 'node:fs/promises';
import { EmptyCorpusError, UsageError, sha256, sha256File, type Logger } from '@rag/core';
import { readPassages, type Passage } from '@rag/corpus';
import type { ObjectStore } from '@rag/storage';
import { SnapshotLayout } from '@rag/snapshot';
import { readMarker, writeMarker } from './build-markers.js';
import { ingestMarkerSchema, PAYLOAD_VERSION, type BuildRequest, type IngestMarker } from './job-payloads.schema.js';

export interface IngestDeps {
  store: ObjectStore;
  logger: Logger;
  /** Called after each shard is written: passages so far, shards so far. */
  onProgress?: (passages: number, shards: number) => Promise<void> | void;
}

/** One passage per line, fixed key order, so the same corpus always gives the same bytes. */
export function passageLine(p: Passage): string {
  return JSON.stringify({ id: p.id, title: p.title, text: p.text, hash: p.hash }) + '\n';
}

/**
 * Ingest: stream the source once, cut it into shards of `shardSize` passages and write each
 * shard's passages as JSONL. Constant memory (one shard buffered). Skips if a marker for the
 * same source bytes and shard size exists (resume).
 */
export async function runIngest(req: BuildRequest, deps: IngestDeps): Promise<IngestMarker> {
  const { store, logger } = deps;
  const layout = new SnapshotLayout(req.snapshotId);
  const started = Date.now();
  const info = await stat(req.source.path).catch((err) => {
    throw new UsageError(`cannot read source ${req.source.path}: ${(err as NodeJS.ErrnoException).code ?? err}`, {
      hint: 'check the path; in distributed mode it must be readable by the ingest worker',
    });
  });
  const sourceSha = await sha256File(req.source.path);

  const existing = await readMarker(store, layout.ingestMarker(), ingestMarkerSchema);
  if (existing && existing.source.sha256 === sourceSha && existing.shardSize === req.shardSize && existing.wordsPerPassage === req.wordsPerPassage) {
    logger.info({ event: 'ingest.skipped', snapshotId: req.snapshotId, shards: existing.shards.length }, 'ingest already done for this source; resuming');
    await deps.onProgress?.(existing.passages, existing.shards.length);
    return existing;
  }

  const shards: IngestMarker['shards'] = [];
  const seen = new Set<string>();
  let duplicates = 0;
  let total = 0;
  let buf: string[] = [];
  let first = '';
  let last = '';

  const flush = async () => {
    if (buf.length === 0) return;
    const shard = shards.length;
    const key = layout.passages(shard);
    const body = buf.join('');
    await store.put(key, body);
    shards.push({ shard, key, sha256: sha256(body), passages: buf.length, firstPassageId: first, lastPassageId: last });
    logger.debug({ event: 'ingest.shard', snapshotId: req.snapshotId, shardId: shard, passages: buf.length }, 'shard written');
    buf = [];
    await deps.onProgress?.(total, shards.length);
  };

  for await (const p of readPassages(req.source.path, { format: req.source.format, wordsPerPassage: req.wordsPerPassage })) {
    // Ids must be unique across the snapshot: a dump that repeats a page keeps its first copy.
    if (seen.has(p.id)) { duplicates++; continue; }
    seen.add(p.id);
    if (buf.length === 0) first = p.id;
    last = p.id;
    buf.push(passageLine(p));
    total++;
    if (buf.length >= req.shardSize) await flush();
  }
  await flush();
  if (total === 0) {
    throw new EmptyCorpusError(`source ${req.source.path} yielded no passages`, { hint: 'check --format and that the file holds articles (namespace 0, not redirects)' });
  }
  const marker: IngestMarker = {
    v: PAYLOAD_VERSION,
    source: { path: req.source.path, sha256: sourceSha, bytes: info.size, format: req.source.format },
    shardSize: req.shardSize,
    wordsPerPassage: req.wordsPerPassage,
    passages: total,
    duplicatesSkipped: duplicates,
    shards,
    durationMs: Date.now() - started,
    finishedAt: Date.now(),
  };
  await writeMarker(store, layout.ingestMarker(), marker);
  logger.info({ event: 'ingest.done', snapshotId: req.snapshotId, passages: total, shards: shards.length, duplicates }, 'ingest done');
  return marker;
}
