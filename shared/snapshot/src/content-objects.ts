import { stat } from 'node:fs/promises';
import { sha256, sha256File } from '@rag/core';
import type { ObjectStore } from '@rag/storage';

/**
 * Content-addressed objects: shards, embeddings, indexes, page tables and deletion lists are stored
 * once under their sha256 and referenced from manifests, so snapshots that share content share bytes
 * (a nightly snapshot adds only what changed). Objects are immutable; `snapshot gc` removes the ones
 * no manifest or unfinished build references.
 */
export const OBJECTS_PREFIX = 'objects/';

/**
 * Stage results recorded by their inputs' sha256 (`work/<stage>/…`, see @rag/pipeline's stage-work.ts),
 * so a build under any snapshot id finds work already done. Hints, not gc roots.
 */
export const WORK_PREFIX = 'work/';

export type ContentKind = 'passages' | 'embeddings' | 'index' | 'quantizer' | 'lists' | 'pages' | 'deleted' | 'reuse' | 'offsets' | 'range' | 'rowsums';

const EXT: Record<ContentKind, string> = {
  passages: 'jsonl',
  embeddings: 'f32',
  index: 'faiss',
  /** A snapshot's trained IVF-PQ with no vectors in it (FAISS write_index). */
  quantizer: 'quantizer.faiss',
  /** One shard's inverted lists under its snapshot's quantizer (FAISS write_InvertedLists). */
  lists: 'ivflists',
  pages: 'pages.jsonl',
  deleted: 'deleted.json',
  reuse: 'reuse.json',
  offsets: 'offsets.u32',
  /** A range job's pages and passages (multistream ingest), read once by the ingest merge. */
  range: 'range.jsonl',
  /** Per-row digests of a passages or embeddings object (row-sums.ts). */
  rowsums: 'rowsums',
};

/**
 * An existing object older than this is rewritten when a build reuses it, so its write time shows
 * the reuse: gc's grace period must be at least this long (the CLI refuses shorter ones but 0).
 */
export const CONTENT_REFRESH_AFTER_MS = 10 * 60 * 1000;
const REFRESH_AFTER_MS = CONTENT_REFRESH_AFTER_MS;

/** `objects/sha256/ab/<sha>.<ext>`: two hex characters of fan-out keep directories small on local disks. */
export function contentKey(sha: string, kind: ContentKind): string {
  if (!/^[0-9a-f]{64}$/.test(sha)) throw new Error(`not a sha256: ${sha}`);
  return `${OBJECTS_PREFIX}sha256/${sha.slice(0, 2)}/${sha}.${EXT[kind]}`;
}

export interface StoredContent {
  key: string;
  sha256: string;
  bytes: number;
  /** False when an identical object was already stored (nothing written). */
  written: boolean;
}

/** Stores `body` under its content key unless already present. Same bytes → same key, always. */
export async function putContent(store: ObjectStore, body: Uint8Array | string, kind: ContentKind): Promise<StoredContent> {
  const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const sha = sha256(buf);
  const key = contentKey(sha, kind);
  const info = await store.head(key);
  // An old identical object is rewritten so its write time is fresh: gc's grace period then covers
  // it until this build's marker references it.
  if (info && info.size === buf.byteLength && Date.now() - info.modifiedMs < REFRESH_AFTER_MS) return { key, sha256: sha, bytes: buf.byteLength, written: false };
  await store.put(key, buf);
  return { key, sha256: sha, bytes: buf.byteLength, written: true };
}

/** putContent for a local file (streamed: a page table can be larger than memory should hold). */
export async function putContentFile(store: ObjectStore, path: string, kind: ContentKind): Promise<StoredContent> {
  const sha = await sha256File(path);
  const key = contentKey(sha, kind);
  const size = (await stat(path)).size;
  const info = await store.head(key);
  if (info && info.size === size && Date.now() - info.modifiedMs < REFRESH_AFTER_MS) return { key, sha256: sha, bytes: size, written: false };
  await store.putFile(key, path);
  return { key, sha256: sha, bytes: size, written: true };
}
