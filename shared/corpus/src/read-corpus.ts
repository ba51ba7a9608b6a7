import { EmptyCorpusError, UsageError } from '@rag/core';
import { readDprTsv } from './dpr-tsv-reader.js';
import { readInputText } from './decode-text.js';
import type { ReadOptions } from './input-bytes.js';
import { readJsonl } from './jsonl-reader.js';
import type { Passage, ReuseCheck } from './passage.js';
import { createReadStats } from './read-stats.js';
import { assertWordsPerPassage, DEFAULT_WORDS_PER_PASSAGE, splitPassages } from './split-passages.js';
import { readWikiXml, type XmlFragment } from './wiki-xml-reader.js';

export const CORPUS_FORMATS = ['wikixml', 'dpr-tsv', 'jsonl'] as const;
export type CorpusFormat = (typeof CORPUS_FORMATS)[number];

/** Checks a format name coming from a flag or a config file. */
export function parseCorpusFormat(name: string): CorpusFormat {
  if ((CORPUS_FORMATS as readonly string[]).includes(name)) return name as CorpusFormat;
  throw new UsageError(`Unknown corpus format "${name}"`, { hint: `use one of: ${CORPUS_FORMATS.join(', ')}` });
}

/** How much decoded text detectFormat looks at. */
const SNIFF_CHARS = 4096;

function formatFromExtension(path: string): CorpusFormat | undefined {
  const name = path.toLowerCase().replace(/\.(bz2|gz|gzip)$/, '');
  if (name.endsWith('.xml')) return 'wikixml';
  if (name.endsWith('.tsv')) return 'dpr-tsv';
  if (name.endsWith('.jsonl') || name.endsWith('.ndjson') || name.endsWith('.json')) return 'jsonl';
  return undefined;
}

/**
 * The format of a corpus file, from its decompressed, decoded content: XML
 * starts with "<", JSON Lines with "{", DPR TSV has tabs in its first line.
 * The file name (without .bz2/.gz) only decides when the content does not
 * (an empty file, say). Throws UsageError for a missing file or an unknown
 * format, EmptyCorpusError for an empty file with no telling name.
 */
export async function detectFormat(path: string, opts: Pick<ReadOptions, 'bzip2Command' | 'source'> = {}): Promise<CorpusFormat> {
  let head = '';
  const text = readInputText(path, { bzip2Command: opts.bzip2Command, source: opts.source });
  try {
    for await (const chunk of text) {
      head += chunk;
      if (head.length >= SNIFF_CHARS) break;
    }
  } finally {
    await text.return(undefined); // stops bzip2 early
  }
  const start = head.trimStart();
  if (start.startsWith('<')) return 'wikixml';
  if (start.startsWith('{')) return 'jsonl';
  const firstLine = start.split('\n', 1)[0] ?? '';
  if (firstLine.includes('\t')) return 'dpr-tsv';
  const byName = formatFromExtension(path);
  if (byName) return byName;
  if (start === '') {
    throw new EmptyCorpusError(`Corpus file ${path} is empty`, { hint: 'point at a non-empty dump, TSV or JSONL file' });
  }
  throw new UsageError(`Cannot tell the format of ${path}`, {
    hint: `name the format explicitly (${CORPUS_FORMATS.join(', ')})`,
  });
}

export interface ReadPassagesOptions extends ReadOptions {
  /** Skip detection. */
  format?: CorpusFormat;
  /** Words per passage for wikixml and jsonl (DPR rows are passages already). Default 100. */
  wordsPerPassage?: number;
}

/**
 * Passages of any supported corpus file, streamed with constant memory.
 * Throws EmptyCorpusError at the end if the file yielded no passage at all.
 */
export async function* readPassages(path: string, opts: ReadPassagesOptions = {}): AsyncGenerator<Passage> {
  const words = assertWordsPerPassage(opts.wordsPerPassage ?? DEFAULT_WORDS_PER_PASSAGE);
  const format = opts.format ?? (await detectFormat(path, opts));
  const stats = opts.stats ?? createReadStats();
  const readOpts: ReadOptions = { ...opts, stats };
  let count = 0;
  if (format === 'dpr-tsv') {
    for await (const p of readDprTsv(path, readOpts)) {
      count++;
      stats.passages++;
      yield p;
    }
  } else {
    const docs = format === 'wikixml' ? readWikiXml(path, readOpts) : readJsonl(path, readOpts);
    for await (const doc of docs) {
      for (const p of splitPassages(doc, words)) {
        count++;
        stats.passages++;
        yield p;
      }
    }
  }
  if (count === 0) {
    const skipped = stats.skippedRedirects + stats.skippedNonArticle + stats.skippedEmpty;
    throw new EmptyCorpusError(
      `Corpus ${path} (${format}) yielded no passages` +
        (skipped ? ` (skipped: ${stats.skippedRedirects} redirects, ${stats.skippedNonArticle} non-article pages, ${stats.skippedEmpty} empty)` : ''),
      {
        hint: 'check that the file holds articles with text and that the format is right',
        details: { path, format, ...stats },
      },
    );
  }
}

/** A page of the source with its passages; `passages` is null when the reuse check kept it as it was. */
export interface SourcePage {
  pageId: string;
  title: string;
  rawSha: string;
  passages: Passage[] | null;
}

export interface ReadPagesOptions extends ReadPassagesOptions {
  /** Pages this check accepts are neither cleaned nor split (incremental builds). */
  reuse?: ReuseCheck;
  /** Read a byte range of a multistream dump as a run of pages (wikixml only; see XmlFragment). */
  fragment?: XmlFragment;
  /** No EmptyCorpusError when nothing was found (one range of a dump may hold only redirects). */
  allowEmpty?: boolean;
}

/**
 * Pages of any supported corpus file, in source order, streamed: what an incremental build needs
 * (readPassages, page by page, plus the source hash of each page). A DPR row is a page of one
 * passage whose id is the row id. Throws EmptyCorpusError if nothing at all was found.
 */
export async function* readSourcePages(path: string, opts: ReadPagesOptions = {}): AsyncGenerator<SourcePage> {
  const words = assertWordsPerPassage(opts.wordsPerPassage ?? DEFAULT_WORDS_PER_PASSAGE);
  const format = opts.format ?? (await detectFormat(path, opts));
  const stats = opts.stats ?? createReadStats();
  const readOpts = { ...opts, stats, sourceHashes: true };
  let count = 0;
  if (format === 'dpr-tsv') {
    for await (const p of readDprTsv(path, readOpts)) {
      count++;
      const reused = opts.reuse?.({ pageId: p.id, title: p.title, rawSha: p.hash }) ?? false;
      if (!reused) stats.passages++;
      yield { pageId: p.id, title: p.title, rawSha: p.hash, passages: reused ? null : [p] };
    }
  } else {
    const docs = format === 'wikixml' ? readWikiXml(path, readOpts) : readJsonl(path, readOpts);
    for await (const doc of docs) {
      if (doc.reused) {
        count++;
        yield { pageId: doc.pageId, title: doc.title, rawSha: doc.rawSha!, passages: null };
        continue;
      }
      const passages = splitPassages(doc, words);
      if (passages.length === 0) continue;
      count++;
      stats.passages += passages.length;
      yield { pageId: doc.pageId, title: doc.title, rawSha: doc.rawSha!, passages };
    }
  }
  if (count === 0 && !opts.allowEmpty) {
    throw new EmptyCorpusError(`Corpus ${path} (${format}) yielded no passages`, {
      hint: 'check that the file holds articles with text and that the format is right',
      details: { path, format, ...stats },
    });
  }
}
