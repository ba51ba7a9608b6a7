import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { Transform } from 'node:stream';
import { ShardIntegrityError, type Logger } from '@rag/core';
import { readDumpHeader, rangeFragment, readSourcePages } from '@rag/corpus';
import type { ObjectStore } from '@rag/storage';
import { SnapshotLayout, putContentFile } from '@rag/snapshot';
import { inputsSha256, readDoneMarker, readMarker, writeMarker } from './build-markers.js';
import { loadBase } from './base-snapshot.js';
import { openBuildSource, type IngestDeps, type IngestPage } from './ingest-stage.js';
import { INGEST_VERSION, ingestRangeMarkerSchema, PAYLOAD_VERSION, type IngestRangeJob, type IngestRangeMarker } from './job-payloads.schema.js';
import { passageLine } from './shard-writer.js';
import { TempLines } from './temp-lines.js';

export interface IngestRangeDeps extends Pick<IngestDeps, 'openSource'> {
  store: ObjectStore;
  logger: Logger;
  /** Pages and passages of this range read so far. */
  onProgress?: (passages: number) => Promise<void> | void;
}

/** A range marker counts only for these inputs (the whole source's sha256 and the range in it). */
export function rangeInputs(job: Pick<IngestRangeJob, 'sourceSha256' | 'k' | 'n' | 'start' | 'end' | 'wordsPerPassage'>, baseManifestSha: string | null): string {
  return inputsSha256({
    source: job.sourceSha256,
    range: [job.k, job.n, job.start, job.end],
    format: 'wikixml',
    words: job.wordsPerPassage,
    ingestVersion: INGEST_VERSION,
    base: baseManifestSha,
  });
}

/**
 * One range job of a multistream dump: reads bytes [start, end) (whole bzip2 streams of whole
 * pages), parses them framed by the dump's header, cleans and splits every page, and stores the
 * pages in dump order as one content object: per page a record line
 * `{"p","t","r","i":[ids]|null,"h":[hashes]|null}` followed by its passage lines as shards hold
 * them. Deduplication and shard cutting are left to the ordered merge, so the result is the same
 * as one job reading the whole dump. With a base snapshot, pages whose source is unchanged are
 * not cleaned (`i`/`h` null), as in one-job ingest. Memory: one page; output spooled to disk.
 * Skips when a marker for the same inputs exists (resume).
 */
export async function runIngestRange(job: IngestRangeJob, deps: IngestRangeDeps): Promise<IngestRangeMarker> {
  const { store, logger } = deps;
  const layout = new SnapshotLayout(job.snapshotId);
  const key = layout.ingestRangeMarker(job.k);
  const base = job.base ? await loadBase(store, job.base, job.snapshotId) : undefined;
  const inputs = rangeInputs(job, base?.manifestSha256 ?? null);
  const existing = await readDoneMarker(store, key, ingestRangeMarkerSchema, logger);
  if (existing && existing.inputsSha256 === inputs && (await store.exists(existing.output.key))) {
    logger.info({ event: 'ingest.range.skipped', snapshotId: job.snapshotId, range: job.k }, 'range already ingested for these inputs');
    return existing;
  }
  const started = Date.now();
  const source = await openBuildSource(job.source.path, deps);
  const header = await readDumpHeader(source);
  // Every message about this range's bytes names them (a corrupt stream is found by its range).
  const label = `${source.name} (range ${job.k + 1} of ${job.n}, bytes ${job.start}-${job.end})`;
  const fastReuse = base && base.manifest.ingestVersion === INGEST_VERSION && base.manifest.source.wordsPerPassage === job.wordsPerPassage;
  const spool = await TempLines.create('rag-range-');
  try {
    let pages = 0;
    let passages = 0;
    const read = readSourcePages(label, {
      source,
      range: { start: job.start, end: job.end },
      fragment: rangeFragment(header, job.k, job.n),
      format: 'wikixml',
      wordsPerPassage: job.wordsPerPassage,
      reuse: fastReuse ? (ref) => base.pages.get(ref.pageId)?.r === ref.rawSha : undefined,
      allowEmpty: true,
    });
    for await (const page of read) {
      const ps = page.passages;
      let text = JSON.stringify({ p: page.pageId, t: page.title, r: page.rawSha, i: ps ? ps.map((p) => p.id) : null, h: ps ? ps.map((p) => p.hash) : null }) + '\n';
      for (const p of ps ?? []) text += passageLine(p);
      await spool.write(text);
      pages++;
      passages += ps?.length ?? 0;
      if (pages % 1000 === 0) await deps.onProgress?.(passages);
    }
    await spool.close();
    const out = await putContentFile(store, spool.path, 'range');
    const marker: IngestRangeMarker = {
      v: PAYLOAD_VERSION,
      inputsSha256: inputs,
      k: job.k,
      start: job.start,
      end: job.end,
      pages,
      passages,
      output: { key: out.key, sha256: out.sha256, bytes: out.bytes },
      durationMs: Date.now() - started,
      finishedAt: Date.now(),
    };
    await writeMarker(store, key, marker, job);
    await deps.onProgress?.(passages);
    logger.info({ event: 'ingest.range.done', snapshotId: job.snapshotId, range: job.k, start: job.start, end: job.end, pages, passages }, 'range ingested');
    return marker;
  } finally {
    await spool.remove();
  }
}

/**
 * The pages of one range job's output, streamed from storage, its sha256 checked at the end (a
 * damaged or replaced object fails the merge instead of entering the snapshot).
 */
export async function* readRangeOutput(store: ObjectStore, marker: IngestRangeMarker): AsyncGenerator<IngestPage> {
  const { key, sha256 } = marker.output;
  const hash = createHash('sha256');
  const tap = new Transform({ transform(chunk: Buffer, _e, done) { hash.update(chunk); done(null, chunk); } });
  const body = (await store.getStream(key)) as NodeJS.ReadableStream & { destroy?: () => void };
  body.on('error', (err) => tap.destroy(err));
  body.pipe(tap);
  const lines = createInterface({ input: tap, crlfDelay: Infinity })[Symbol.asyncIterator]();
  const next = async (): Promise<string | undefined> => {
    const r = await lines.next();
    return r.done ? undefined : r.value;
  };
  let pages = 0;
  try {
    for (let line = await next(); line !== undefined; line = await next()) {
      if (line === '') continue;
      const rec = JSON.parse(line) as { p: string; t: string; r: string; i: string[] | null; h: string[] | null };
      const rows = rec.i && rec.h ? [] as { id: string; hash: string; line: string }[] : null;
      for (let j = 0; rows && j < rec.i!.length; j++) {
        const l = await next();
        if (l === undefined) throw new ShardIntegrityError(`range output ${key} ends inside page ${rec.p}`, { hint: 're-run the build; the range is ingested again' });
        rows.push({ id: rec.i![j]!, hash: rec.h![j]!, line: l + '\n' });
      }
      pages++;
      yield { pageId: rec.p, title: rec.t, rawSha: rec.r, rows };
    }
  } catch (err) {
    if (err instanceof SyntaxError) throw new ShardIntegrityError(`range output ${key} is not valid JSON lines: ${err.message}`, { cause: err, hint: 're-run the build' });
    throw err;
  } finally {
    body.destroy?.();
  }
  if (hash.digest('hex') !== sha256 || pages !== marker.pages) {
    throw new ShardIntegrityError(`range output ${key} does not match its marker (sha256 or page count)`, { hint: 're-run the build; the range is ingested again' });
  }
}
