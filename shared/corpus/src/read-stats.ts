import type { TextEncoding } from '@rag/core';

/** Where the bytes of a corpus file came from. */
export type Compression = 'none' | 'bzip2' | 'gzip';

/** Text encodings a corpus file may use (@rag/core's text check); anything else must be converted to UTF-8 first. */
export type { TextEncoding };

/**
 * Counters the readers fill in while they stream, so callers can show progress
 * (`sourceBytes / sourceSize`) and record what was read without a second pass.
 */
export interface CorpusReadStats {
  /** Size of the source file in bytes (compressed size for .bz2/.gz). */
  sourceSize: number;
  /** Source-file bytes consumed so far (compressed bytes for .bz2/.gz). */
  sourceBytes: number;
  /** sha256 hex of the whole source file; set only once it has been read to its end. */
  sourceSha256?: string;
  compression?: Compression;
  encoding?: TextEncoding;
  /** Documents that produced text: articles, JSONL records or DPR rows. */
  documents: number;
  passages: number;
  skippedRedirects: number;
  /** Pages outside the article namespace (ns != 0). */
  skippedNonArticle: number;
  /** Pages, records or rows with no text left after cleaning. */
  skippedEmpty: number;
  /** JSONL lines skipped as invalid (only with skipBadLines; without it the first one fails the read). */
  skippedBadLines: number;
  /** The first few of those, for the report. */
  badLines: { line: number; reason: string }[];
}

/** How many skipped bad lines keep their line number and reason. */
export const BAD_LINE_SAMPLES = 10;

export function createReadStats(): CorpusReadStats {
  return {
    sourceSize: 0,
    sourceBytes: 0,
    documents: 0,
    passages: 0,
    skippedRedirects: 0,
    skippedNonArticle: 0,
    skippedEmpty: 0,
    skippedBadLines: 0,
    badLines: [],
  };
}
