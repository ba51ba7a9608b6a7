import { ShardIntegrityError, sha256 } from '@rag/core';

/** Hex characters of sha256 kept in `Passage.hash`: 64 bits, ample to spot changed text or duplicates. */
export const PASSAGE_HASH_LENGTH = 16;

/** One retrievable unit of text: what gets embedded and returned to the user. */
export interface Passage {
  /** Stable across runs: `${pageId}-${ordinal}` for split documents, the given id for DPR rows. */
  id: string;
  title: string;
  text: string;
  /** First PASSAGE_HASH_LENGTH hex chars of sha256(title + "\n" + text). */
  hash: string;
}

/** A whole article (or JSONL record) before splitting; `text` is plain, already cleaned text. */
export interface SourceDocument {
  pageId: string;
  title: string;
  text: string;
  /** sourceHash(title, source text before cleaning): equal hashes mean the page did not change. */
  rawSha?: string;
  /** Set when a `reuse` check said the page is unchanged: it was not cleaned and `text` is empty. */
  reused?: true;
}

/** A page as met in the source, before cleaning: what a `reuse` check sees. */
export interface SourcePageRef {
  pageId: string;
  title: string;
  rawSha: string;
}

/** Says whether a page can be taken from a base snapshot as it is (then it is neither cleaned nor split). */
export type ReuseCheck = (page: SourcePageRef) => boolean;

/** Hash of a page's title and source text (raw wikitext, a JSONL record's text, a DPR row's text). */
export function sourceHash(title: string, raw: string): string {
  return sha256(`${title}\n${raw}`).slice(0, PASSAGE_HASH_LENGTH);
}

export function passageHash(title: string, text: string): string {
  return sha256(`${title}\n${text}`).slice(0, PASSAGE_HASH_LENGTH);
}

/**
 * One stored passage row (a JSON line read on its own, e.g. by a range read), checked against its own
 * hash: the only check possible when the object's sha256 would need every byte. `where` names the row
 * in the error; `hint` says how to recover.
 */
export function parseCheckedPassage(line: string, where: string, hint: string): Passage {
  let p: Passage;
  try {
    p = JSON.parse(line) as Passage;
  } catch (err) {
    throw new ShardIntegrityError(`${where} is not a JSON passage`, { cause: err, hint });
  }
  if (typeof p.text !== 'string' || passageHash(p.title, p.text) !== p.hash) {
    throw new ShardIntegrityError(`${where} does not match its passage hash`, { hint });
  }
  return p;
}

/** A shard's passages object (JSONL, one passage a line, as ingest writes it), parsed whole. */
export function parsePassageShard(raw: Uint8Array, key: string): Passage[] {
  const out: Passage[] = [];
  let lineNo = 0;
  for (const line of Buffer.from(raw).toString('utf8').split('\n')) {
    lineNo++;
    if (line === '') continue;
    try {
      out.push(JSON.parse(line) as Passage);
    } catch (err) {
      throw new ShardIntegrityError(`passage shard ${key} line ${lineNo} is not JSON`, { cause: err });
    }
  }
  return out;
}

export function makePassage(id: string, title: string, text: string): Passage {
  return { id, title, text, hash: passageHash(title, text) };
}
