import { CorruptInputError } from '@rag/core';
import { readInputText } from './decode-text.js';
import type { ReadOptions } from './input-bytes.js';
import { sourceHash, type ReuseCheck, type SourceDocument } from './passage.js';
import { readLines } from './read-lines.js';
import { BAD_LINE_SAMPLES } from './read-stats.js';

/**
 * Streams a JSON Lines corpus: one object per line, `{"id"?, "title"?, "text"}`.
 * `id` (string or number) defaults to the 1-based line number; `title`
 * defaults to "". Text is plain already, so it is only trimmed. Blank lines
 * are ignored; records with empty text are skipped and counted. A line that is
 * not a JSON object with a string `text` is a CorruptInputError naming the line,
 * or with `skipBadLines` is skipped and counted (stats.skippedBadLines, badLines).
 */
export async function* readJsonl(path: string, opts: ReadOptions & { reuse?: ReuseCheck; sourceHashes?: boolean } = {}): AsyncGenerator<SourceDocument> {
  const stats = opts.stats;
  let lineNo = 0;
  const bad = (why: string, cause?: unknown): CorruptInputError =>
    new CorruptInputError(`${path} line ${lineNo}: ${why}`, {
      cause,
      hint: 'each line must be a JSON object like {"id": "1", "title": "...", "text": "..."}; fix the line, or skip such lines with --skip-bad-lines',
      details: { path, line: lineNo },
    });

  for await (const line of readLines(readInputText(path, opts), path)) {
    lineNo++;
    if (line.trim() === '') continue;
    const parsed = parseRecord(line, lineNo);
    if (typeof parsed === 'string') {
      if (!opts.skipBadLines) throw bad(parsed);
      if (stats) {
        stats.skippedBadLines++;
        if (stats.badLines.length < BAD_LINE_SAMPLES) stats.badLines.push({ line: lineNo, reason: parsed });
      }
      continue;
    }
    const { rec, pageId } = parsed;
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

/** A line's record and page id, or why the line is not a record. */
function parseRecord(line: string, lineNo: number): { rec: Record<string, unknown> & { text: string }; pageId: string } | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return `not valid JSON (${(err as Error).message})`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'expected a JSON object';
  const rec = value as Record<string, unknown>;
  if (typeof rec.text !== 'string') return '"text" must be a string';
  if (rec.title !== undefined && typeof rec.title !== 'string') return '"title" must be a string';
  let pageId = String(lineNo);
  if (rec.id !== undefined && rec.id !== null) {
    if (typeof rec.id !== 'string' && typeof rec.id !== 'number') return '"id" must be a string or a number';
    pageId = String(rec.id).trim();
    if (!pageId) return '"id" is empty';
  }
  return { rec: rec as Record<string, unknown> & { text: string }, pageId };
}
