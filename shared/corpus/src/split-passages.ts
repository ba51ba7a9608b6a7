import { UsageError } from '@rag/core';
import { makePassage, type Passage, type SourceDocument } from './passage.js';

export const DEFAULT_WORDS_PER_PASSAGE = 100;

export function assertWordsPerPassage(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 100_000) {
    throw new UsageError(`wordsPerPassage must be a whole number from 1 to 100000, got ${n}`, {
      hint: 'DPR uses 100 words per passage',
    });
  }
  return n;
}

/**
 * DPR-style passages: consecutive, non-overlapping blocks of `wordsPerPassage`
 * whitespace-separated words (the last block may be shorter), each carrying
 * the document title. Ids are `${pageId}-${ordinal}`, ordinal counting from 0,
 * so the same document always yields the same ids.
 */
export function splitPassages(doc: SourceDocument, wordsPerPassage = DEFAULT_WORDS_PER_PASSAGE): Passage[] {
  assertWordsPerPassage(wordsPerPassage);
  const words = doc.text.split(/\s+/).filter((w) => w !== '');
  const passages: Passage[] = [];
  for (let start = 0; start < words.length; start += wordsPerPassage) {
    const text = words.slice(start, start + wordsPerPassage).join(' ');
    passages.push(makePassage(`${doc.pageId}-${passages.length}`, doc.title, text));
  }
  return passages;
}
