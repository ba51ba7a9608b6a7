import { CorruptInputError } from '@rag/core';
import { readInputText } from './decode-text.js';
import type { ReadOptions } from './input-bytes.js';
import { sourceHash, type ReuseCheck, type SourceDocument } from './passage.js';
import { readLines } from './read-lines.js';

/**
 * Streams a JSON Lines corpus: one object per line, `{"id"?, "title"?, "text"}`.
 * `id` (string or number) defaults to the 1-based line number; `title`
 * defaults to "". Text is plain already, so it is only trimmed. Blank lines
 * are ignored; records with empty text are skipped and counted. A line that is
 * not a JSON object with a string `text` is a CorruptInputError naming the line.
 */
export async function* readJsonl(path: string, opts: ReadOptions & { reuse?: ReuseCheck; sourceHashes?: boolean } = {}): AsyncGenerator<SourceDocument> {
  const stats = opts.stats;
  let lineNo = 0;
  const bad = (why: string, cause?: unknown): CorruptInputError =>
    new CorruptInputError(`${path} line ${lineNo}: ${why}`, {
      cause,
      hint: 'each line must be a JSON object like {"id": "1", "title": "...", "text": "..."}; fix the line or the file',
      details: { path, line: lineNo },
    });

  for await (const line of readLines(readInputText(path, opts), path)) {
    lineNo++;
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw bad(`not valid JSON (${(err as Error).message})`, err);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('expected a JSON object');
    const rec = value as Record<string, unknown>;
    if (typeof rec.text !== 'string') throw bad('"text" must be a string');
    if (rec.title !== undefined && typeof rec.title !== 'string') throw bad('"title" must be a string');
    let pageId = String(lineNo);
    if (rec.id !== undefined && rec.id !== null) {
      if (typeof rec.id !== 'string' && typeof rec.id !== 'number') throw bad('"id" must be a string or a number');
      pageId = String(rec.id).trim();
      if (!pageId) throw bad('"id" is empty');
    }
    const text = rec.text.trim();
    if (!text) {
      if (stats) stats.skippedEmpty++;
      continue;
    }
    if (stats) stats.documents++;
    const title = typeof rec.title === 'string' ? rec.title.trim() : '';
    if (!opts.sourceHashes && !opts.reuse) {
      yield { pageId, title, text };
      continue;
    }
    const rawSha = sourceHash(title, text);
    if (opts.reuse?.({ pageId, title, rawSha })) yield { pageId, title, text: '', rawSha, reused: true };
    else yield { pageId, title, text, rawSha };
  }
}
