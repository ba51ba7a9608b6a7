import { EmptyCorpusError, RagError, UsageError, sha256File, type Logger } from '@rag/core';
import { createReadStats, fileSource, parsePassageShard, readSourcePages, sha256Source, type ByteSource, type CorpusReadStats, type Passage, type SourcePage } from '@rag/corpus';
import { findModelFile } from '@rag/encoder';
import type { ObjectStore } from '@rag/storage';
import { SnapshotLayout, pageRowLine, putContent, putContentFile, type PageRow } from '@rag/snapshot';
import { TempLines } from './temp-lines.js';
import { readDoneMarker, readMarker, writeMarker, inputsSha256 } from './build-markers.js';
import { INGEST_VERSION, ingestMarkerSchema, PAYLOAD_VERSION, type BuildRequest, type IngestMarker, type IngestShard } from './job-payloads.schema.js';
import { PageIdSet } from './page-id-set.js';
import { loadBase, type BaseSnapshot } from './base-snapshot.js';
import { ShardWriter, passageRow, type EmbeddingSource, type PassageRow } from './shard-writer.js';

export { passageLine } from './shard-writer.js';

export interface IngestDeps {
  store: ObjectStore;
  logger: Logger;
  /** Called after each shard is written: passages so far, shards so far. */
  onProgress?: (passages: number, shards: number) => Promise<void> | void;
  /** Opens a build's source (a local path, or an s3:// URL); default: local paths only. */
  openSource?: (path: string) => Promise<ByteSource>;
}

/**
 * A reused base shard is rewritten (its live rows moved into new shards, embeddings copied, not
 * encoded) when more than this share of its rows is deleted, and small shards (under a quarter of a
 * shard) are merged once MAX_SMALL_SHARDS of them exist: nightly deltas would otherwise leave ever
 * more hollow or small shards behind.
 */
export const COMPACT_DELETED_SHARE = 0.25;
export const COMPACT_SMALL_SHARE = 0.25;
export const MAX_SMALL_SHARDS = 4;

/**
 * Ingest: stream the source once, cut it into shards of `shardSize` passages (content-addressed
 * JSONL objects) and record every page in a page table. One shard is buffered and page rows are
 * spooled to a local file; what grows with the corpus is the set of page ids met (page-id-set.ts,
 * ~20 bytes a page), which makes deduplication exact: a repeated page keeps its first copy however
 * far apart the copies are, in full and incremental builds alike. An incremental build also holds
 * the base's page table.
 *
 * With a base snapshot (`req.base`), a page whose source text and id are unchanged keeps its rows
 * in the base's shards (not cleaned, split, encoded or indexed again); changed and added pages go to
 * new shards, and the base rows of changed and removed pages are listed as deleted. New rows whose
 * passage is byte-identical to one of the same page in the base carry a reuse plan: encode copies
 * their embeddings. So unchanged articles stay in unchanged shards, whatever moved before them in the
 * dump (cutting the dump into consecutive shards would shift every later shard after one early edit).
 *
 * Skips when a marker for the same inputs exists (resume).
 */
export async function runIngest(req: BuildRequest, deps: IngestDeps): Promise<IngestMarker> {
  const { store, logger } = deps;
  const layout = new SnapshotLayout(req.snapshotId);
  const started = Date.now();
  const source = await openBuildSource(req.source.path, deps);
  const size = await sourceSize(source);
  const base = req.base ? await loadBase(store, req.base, req.snapshotId) : undefined;
  const inputsFor = await ingestInputs(req, base);
  const existing = await readDoneMarker(store, layout.ingestMarker(), ingestMarkerSchema, logger);
  if (existing) {
    // Only a resume hashes the source first; a first run hashes it while streaming (one read).
    if (existing.inputsSha256 === inputsFor(await sha256Source(source))) {
      logger.info({ event: 'ingest.skipped', snapshotId: req.snapshotId, shards: existing.shards.length }, 'ingest already done for these inputs; resuming');
      await deps.onProgress?.(existing.passages, existing.shards.length);
      return existing;
    }
  }
  const stats = createReadStats();
  const seen = new PageIdSet();
  // Page reuse by source hash is only sound when the base split pages the same way.
  const fastReuse = base && base.manifest.ingestVersion === INGEST_VERSION && base.manifest.source.wordsPerPassage === req.wordsPerPassage;
  const pages = readSourcePages(source.name, {
    source,
    stats,
    format: req.source.format,
    wordsPerPassage: req.wordsPerPassage,
    skipBadLines: req.skipBadLines ?? false,
    reuse: fastReuse ? (ref) => !seen.has(ref.pageId) && base.pages.get(ref.pageId)?.r === ref.rawSha : undefined,
  });
  return ingestPages(req, asIngestPages(pages), {
    base,
    seen,
    started,
    size,
    sourceSha: async () => stats.sourceSha256 ?? (await sha256Source(source)),
    inputsFor,
    stats,
  }, deps);
}

/** A page as ingest consumes it: its passages already as shard lines; `rows` null when the base's copy is kept. */
export interface IngestPage {
  pageId: string;
  title: string;
  rawSha: string;
  rows: PassageRow[] | null;
}

export async function* asIngestPages(pages: AsyncIterable<SourcePage>): AsyncGenerator<IngestPage> {
  for await (const p of pages) {
    yield { pageId: p.pageId, title: p.title, rawSha: p.rawSha, rows: p.passages ? p.passages.map(passageRow) : null };
  }
}

/** The source of a build: a local path, or an s3:// URL when the worker was given an opener for it. */
export async function openBuildSource(path: string, deps: Pick<IngestDeps, 'openSource'>): Promise<ByteSource> {
  if (deps.openSource) return deps.openSource(path);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
    throw new UsageError(`source ${path} is not a local path and this process cannot open URLs`, { hint: 'run the ingest worker with storage configured (./rag worker) or use a local path' });
  }
  return fileSource(path);
}

export async function sourceSize(source: ByteSource): Promise<number> {
  return source.size().catch((err) => {
    const e = RagError.from(err);
    throw new UsageError(`cannot read source ${source.name}: ${e.message}`, {
      cause: err,
      hint: e.hint ?? 'check the path; in distributed mode it must be readable by the ingest worker',
    });
  });
}

/** The ingest marker's inputs for a source sha256 (the same whether one job or range jobs ingest it: the output is the same). */
export async function ingestInputs(req: BuildRequest, base: BaseSnapshot | undefined): Promise<(sourceSha: string) => string> {
  if (base) checkBaseCompatible(req, base, await sha256File(findModelFile(req.encoderDir)));
  return (sourceSha: string) => inputsSha256({
    source: sourceSha,
    format: req.source.format,
    words: req.wordsPerPassage,
    shardSize: req.shardSize,
    ingestVersion: INGEST_VERSION,
    base: base ? base.manifestSha256 : null,
    // Only when set, so that the inputs of every build before the option stay the same.
    ...(req.skipBadLines ? { skipBadLines: true } : {}),
  });
}

export interface IngestPagesContext {
  base: BaseSnapshot | undefined;
  /** Every page id met so far (shared with a reader's reuse check). */
  seen: PageIdSet;
  started: number;
  size: number;
  /** The source's sha256, asked for once the pages are consumed. */
  sourceSha: () => Promise<string>;
  inputsFor: (sourceSha: string) => string;
  ranges?: IngestMarker['ranges'];
  /** The reader's counters (JSONL bad lines skipped), when one job read the source. */
  stats?: CorpusReadStats;
}

/**
 * The pages of the source, in order, into shards and a page table; writes the ingest marker. One
 * job reading the dump and the merge of range jobs' outputs both end here, so their shards are
 * byte-identical.
 */
export async function ingestPages(req: BuildRequest, pages: AsyncIterable<IngestPage>, ctx: IngestPagesContext, deps: IngestDeps): Promise<IngestMarker> {
  const { store, logger } = deps;
  const { base, seen } = ctx;
  const layout = new SnapshotLayout(req.snapshotId);
  const writer = new ShardWriter(store, req.shardSize, base?.manifest.encoder.sha256, deps.onProgress);
  // Page rows go to a local spool file as they are made, not to the heap (they are per page).
  const spool = await TempLines.create('rag-pages-');
  try {
    /** Base pages met in the new dump (kept or changed); the others were removed. */
    const basePageSeen = new Set<string>();
    let kept = 0;
    let duplicates = 0;
    let changed = 0;
    let added = 0;
    /** Rows of base shards that are not part of the new snapshot (pages changed since). */
    const deleted = base ? base.manifest.shards.map((_, i) => new Set<number>(base.deleted[i] ?? [])) : [];

    for await (const page of pages) {
      // A dump that repeats a page keeps its first copy, whole, however far apart the copies are.
      if (!seen.add(page.pageId)) { duplicates++; continue; }
      const old = base?.pages.get(page.pageId);
      if (old) basePageSeen.add(page.pageId);
      if (old && (page.rows === null || sameHashes(old.h, page.rows))) {
        kept++;
        // Base shard numbers are marked until the kept shards get their numbers in this snapshot.
        await spool.write(pageRowLine({ ...old, t: page.title, r: page.rawSha, loc: old.loc.map(([s, f, c]) => [s + BASE_MARK, f, c]) }));
        continue;
      }
      const rows = page.rows!;
      if (old) {
        changed++;
        for (const [shard, first, count] of old.loc) for (let r = 0; r < count; r++) deleted[shard]!.add(first + r);
      } else if (base) added++;
      const loc = await writer.addRows(rows, old ? sourcesFromOldPage(base!, old, rows) : undefined);
      await spool.write(pageRowLine({ p: page.pageId, t: page.title, r: page.rawSha, h: rows.map((p) => p.hash), loc }));
    }
    await spool.close();
    let shards: IngestShard[];
    let baseSummary: IngestMarker['base'];
    let table: TempLines;
    if (base) {
      for (const old of base.pages.values()) {
        if (basePageSeen.has(old.p)) continue;
        for (const [shard, first, count] of old.loc) for (let r = 0; r < count; r++) deleted[shard]!.add(first + r);
      }
      const r = await finishIncremental(base, spool, deleted, writer, req.shardSize, store);
      shards = r.shards;
      table = r.table;
      baseSummary = {
        id: base.manifest.id,
        manifestSha256: base.manifestSha256,
        pagesKept: kept,
        pagesChanged: changed,
        pagesAdded: added,
        pagesRemoved: base.pages.size - basePageSeen.size,
        shardsReused: r.reused,
        shardsCompacted: r.compacted,
        passagesKept: r.passagesKept,
      };
    } else {
      await writer.flush();
      shards = writer.shards;
      table = spool;
    }
    const total = shards.reduce((n, s) => n + s.passages - (s.deleted?.count ?? 0), 0);
    if (total === 0) {
      throw new EmptyCorpusError(`source ${req.source.path} yielded no passages`, { hint: 'check --format and that the file holds articles (namespace 0, not redirects)' });
    }
    const sourceSha = await ctx.sourceSha();
    const inputs = ctx.inputsFor(sourceSha);
    const stored = await putContentFile(store, table.path, 'pages');
    if (table !== spool) await table.remove();
    const marker: IngestMarker = {
      v: PAYLOAD_VERSION,
      inputsSha256: inputs,
      ingestVersion: INGEST_VERSION,
      source: { path: req.source.path, sha256: sourceSha, bytes: ctx.size, format: req.source.format },
      shardSize: req.shardSize,
      wordsPerPassage: req.wordsPerPassage,
      passages: total,
      duplicatesSkipped: duplicates,
      ...(ctx.stats?.skippedBadLines ? { badLinesSkipped: { count: ctx.stats.skippedBadLines, first: ctx.stats.badLines } } : {}),
      shards,
      pages: { key: stored.key, sha256: stored.sha256, bytes: stored.bytes, count: table.count },
      ...(baseSummary ? { base: baseSummary } : {}),
      ...(ctx.ranges ? { ranges: ctx.ranges } : {}),
      durationMs: Date.now() - ctx.started,
      finishedAt: Date.now(),
    };
    await writeMarker(store, layout.ingestMarker(), marker, req);
    logger.info({ event: 'ingest.done', snapshotId: req.snapshotId, passages: total, shards: shards.length, duplicates, base: baseSummary }, 'ingest done');
    return marker;
  } finally {
    await spool.remove();
  }
}

function sameHashes(old: string[], passages: { hash: string }[]): boolean {
  return old.length === passages.length && passages.every((p, i) => p.hash === old[i]);
}

/** Rows of a changed page that did not change (same passage hash) borrow the base's embedding. */
function sourcesFromOldPage(base: BaseSnapshot, old: PageRow, passages: { hash: string }[]): (EmbeddingSource | undefined)[] {
  const byHash = new Map<string, EmbeddingSource>();
  let i = 0;
  for (const [shard, first, count] of old.loc) {
    const entry = base.manifest.shards[shard]!;
    for (let r = 0; r < count; r++, i++) {
      const h = old.h[i];
      if (h !== undefined && !byHash.has(h)) byHash.set(h, { key: entry.embeddingsKey, sha256: entry.embeddingsSha256, row: first + r });
    }
  }
  return passages.map((p) => byHash.get(p.hash));
}

/**
 * After the stream: hollow or small base shards are compacted into new shards (the live rows of
 * kept pages in them are copied with their embeddings), the other base shards are kept as they are
 * and numbered after the new ones, and the spooled page rows are rewritten with final locations.
 */
async function finishIncremental(
  base: BaseSnapshot,
  spool: TempLines,
  deleted: Set<number>[],
  writer: ShardWriter,
  shardSize: number,
  store: ObjectStore,
): Promise<{ shards: IngestShard[]; table: TempLines; reused: number; compacted: number; passagesKept: number }> {
  const shardsOfBase = base.manifest.shards;
  const live = shardsOfBase.map((s, i) => s.passages - deleted[i]!.size);
  // Small shards (each night's last, partial one) are merged once MAX_SMALL_SHARDS have gathered:
  // merging every night would rewrite the same rows night after night.
  const small = live.filter((n) => n > 0 && n < shardSize * COMPACT_SMALL_SHARE).length;
  const compact = shardsOfBase.map((s, i) => {
    const d = deleted[i]!.size;
    return live[i]! <= 0 || d / s.passages > COMPACT_DELETED_SHARE || (small >= MAX_SMALL_SHARDS && live[i]! < shardSize * COMPACT_SMALL_SHARE);
  });

  // Pass 2: kept pages whose rows sit in compacted shards move to new shards, in page-table order.
  const parsed = new Map<number, Passage[]>();
  const passagesOf = async (shard: number): Promise<Passage[]> => {
    let ps = parsed.get(shard);
    if (!ps) {
      const e = shardsOfBase[shard]!;
      ps = parsePassageShard(await base.getVerified(e.passagesKey, e.passagesSha256), e.passagesKey);
      parsed.set(shard, ps);
    }
    return ps;
  };
  const moved = await TempLines.create('rag-pages-');
  let movedRows = 0;
  try {
    for await (const line of spool.lines()) {
      const row = JSON.parse(line) as PageRow;
      if (!row.loc.some(([s]) => s >= BASE_MARK && compact[s - BASE_MARK])) {
        await moved.write(line + '\n');
        continue;
      }
      const loc: [number, number, number][] = [];
      for (const [marked, first, count] of row.loc) {
        const shard = marked - BASE_MARK;
        if (marked < BASE_MARK || !compact[shard]) { loc.push([marked, first, count]); continue; }
        const e = shardsOfBase[shard]!;
        const ps = (await passagesOf(shard)).slice(first, first + count);
        const sources = ps.map((_, r) => ({ key: e.embeddingsKey, sha256: e.embeddingsSha256, row: first + r }));
        for (const run of await writer.add(ps, sources)) loc.push(run);
        movedRows += count;
      }
      await moved.write(pageRowLine({ ...row, loc }));
    }
    await moved.close();
    await writer.flush();
    parsed.clear();

    // Kept base shards, numbered after the new ones.
    const shards: IngestShard[] = [...writer.shards];
    const renumber = new Map<number, number>();
    let passagesKept = movedRows;
    for (let b = 0; b < shardsOfBase.length; b++) {
      if (compact[b]) continue;
      const e = shardsOfBase[b]!;
      const shard = shards.length;
      renumber.set(b, shard);
      const d = [...deleted[b]!].sort((x, y) => x - y);
      const entry: IngestShard = {
        shard,
        key: e.passagesKey,
        sha256: e.passagesSha256,
        bytes: e.passagesBytes,
        passages: e.passages,
        firstPassageId: e.firstPassageId,
        lastPassageId: e.lastPassageId,
        ...(e.offsets ? { offsets: e.offsets } : {}),
        kept: { from: base.manifest.id, entry: { ...e, shard } },
      };
      if (d.length > 0) {
        const obj = await putContent(store, JSON.stringify(d), 'deleted');
        entry.deleted = { key: obj.key, sha256: obj.sha256, bytes: obj.bytes, count: d.length };
      }
      passagesKept += e.passages - d.length;
      shards.push(entry);
    }

    // Pass 3: page rows with their final shard numbers.
    const table = await TempLines.create('rag-pages-');
    for await (const line of moved.lines()) {
      const row = JSON.parse(line) as PageRow;
      row.loc = row.loc.map(([s, f, c]) => (s >= BASE_MARK ? [renumber.get(s - BASE_MARK)!, f, c] : [s, f, c]));
      await table.write(pageRowLine(row));
    }
    await table.close();
    return { shards, table, reused: renumber.size, compacted: compact.filter(Boolean).length, passagesKept };
  } finally {
    await moved.remove();
  }
}

/** Marks a base shard number in a page row until kept shards are numbered (new shards come first). */
const BASE_MARK = 1 << 30;

function checkBaseCompatible(req: BuildRequest, base: BaseSnapshot, encoderSha: string): void {
  const m = base.manifest;
  if (m.encoder.sha256 !== encoderSha) {
    throw new UsageError(`--base ${m.id} was encoded with ${m.encoder.name} (${m.encoder.sha256.slice(0, 12)}), this build with ${req.encoderDir} (${encoderSha.slice(0, 12)})`, {
      hint: `vectors of two encoders cannot share an index: pass --encoder with the base's encoder, or build without --base`,
    });
  }
  const baseKind = m.index.kind;
  if (baseKind !== req.index.kind || JSON.stringify(sorted(m.index.params, req.index.params)) !== JSON.stringify(sorted(req.index.params, req.index.params))) {
    throw new UsageError(`--base ${m.id} uses index ${baseKind} ${JSON.stringify(m.index.params)}, this build asks for ${req.index.kind} ${JSON.stringify(req.index.params)}`, {
      hint: 'unchanged shards keep the base index: pass the same --index options, or build without --base to change the index',
    });
  }
  if (m.source.format !== req.source.format) {
    throw new UsageError(`--base ${m.id} was built from ${m.source.format}, this source is ${req.source.format}`, {
      hint: 'an incremental build compares pages of the same kind of source; build without --base',
    });
  }
}

/** The requested parameters only (a manifest also records derived ones such as nlist of a fallback). */
function sorted(params: Record<string, unknown>, requested: Record<string, unknown>): [string, unknown][] {
  return Object.keys(requested).sort().map((k) => [k, params[k]]);
}

