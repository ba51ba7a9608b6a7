import { sha256 } from '@rag/core';

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
}

export function passageHash(title: string, text: string): string {
  return sha256(`${title}\n${text}`).slice(0, PASSAGE_HASH_LENGTH);
}

export function makePassage(id: string, title: string, text: string): Passage {
  return { id, title, text, hash: passageHash(title, text) };
}
