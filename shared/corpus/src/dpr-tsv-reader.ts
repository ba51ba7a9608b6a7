import { CorruptInputError } from '@rag/core';
import { readInputText } from './decode-text.js';
import type { ReadOptions } from './input-bytes.js';
import { makePassage, type Passage } from './passage.js';
import { readLines } from './read-lines.js';

/** A quoted field may span lines; past this many characters it is an unterminated quote, not a passage. */
const MAX_RECORD_CHARS = 1 << 20;

class RowError extends Error {}

/**
 * Splits one tab-separated record, undoing CSV-style quoting: a field that
 * starts with `"` runs to the next lone `"`, and `""` inside stands for `"`.
 * Returns undefined when a quoted field is still open at the end (the record
 * continues on the next line).
 */
export function parseTsvRecord(record: string): string[] | undefined {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (record[i] === '"') {
      let value = '';
      let j = i + 1;
      for (;;) {
        const q = record.indexOf('"', j);
        if (q < 0) return undefined;
        value += record.slice(j, q);
        if (record[q + 1] === '"') {
          value += '"';
          j = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      fields.push(value);
      if (i >= record.length) return fields;
      if (record[i] !== '\t') {
        throw new RowError(`unexpected character ${JSON.stringify(record[i])} after the closing quote of field ${fields.length}`);
      }
      i++;
    } else {
      const tab = record.indexOf('\t', i);
      if (tab < 0) {
        fields.push(record.slice(i));
        return fields;
      }
      fields.push(record.slice(i, tab));
      i = tab + 1;
    }
  }
}

interface Columns {
  id: number;
  text: number;
  title: number;
  count: number;
}

function headerColumns(fields: string[], path: string): Columns {
  const names = fields.map((f) => f.trim().toLowerCase());
  const id = names.indexOf('id');
  const text = names.indexOf('text');
  const title = names.indexOf('title');
  if (id < 0 || text < 0 || title < 0) {
    throw new CorruptInputError(
      `${path} line 1: expected the DPR header "id<TAB>text<TAB>title", found ${JSON.stringify(fields.join('\t').slice(0, 200))}`,
      { hint: 'DPR passage files start with the header line "id\\ttext\\ttitle"; add it, or choose another --format', details: { path, line: 1 } },
    );
  }
  return { id, text, title, count: fields.length };
}

/**
 * Streams a DPR passage file (psgs_w100.tsv: header `id\ttext\ttitle`, one
 * passage per row). Rows are already passages: ids are kept and nothing is
 * re-split. Text and title are trimmed; rows with empty text are skipped and
 * counted.
 *
 * A malformed row (wrong number of fields, empty id, broken quoting) stops the
 * read with CorruptInputError naming the line, rather than being skipped: the
 * DPR file is machine-written, so a bad row means a damaged or different file,
 * and silently dropping passages would change the index without anyone noticing.
 */
export async function* readDprTsv(path: string, opts: ReadOptions = {}): AsyncGenerator<Passage> {
  const stats = opts.stats;
  let columns: Columns | undefined;
  let lineNo = 0;
  let pending: string | undefined; // a record whose quoted field continues on the next line
  let pendingLine = 0;
  const bad = (line: number, why: string): CorruptInputError =>
    new CorruptInputError(`${path} line ${line}: ${why}`, {
      hint: 'the TSV file is damaged or not in DPR format (id<TAB>text<TAB>title); fix the row or download the file again',
      details: { path, line },
    });

  for await (const line of readLines(readInputText(path, opts), path)) {
    lineNo++;
    const record = pending === undefined ? line : `${pending}\n${line}`;
    const startLine = pending === undefined ? lineNo : pendingLine;
    let fields: string[] | undefined;
    try {
      fields = parseTsvRecord(record);
    } catch (err) {
      throw bad(startLine, (err as Error).message);
    }
    if (fields === undefined) {
      if (record.length > MAX_RECORD_CHARS) throw bad(startLine, 'a quoted field is never closed');
      pending = record;
      pendingLine = startLine;
      continue;
    }
    pending = undefined;
    if (!columns) {
      columns = headerColumns(fields, path);
      continue;
    }
    if (record === '') continue;
    if (fields.length !== columns.count) {
      throw bad(startLine, `expected ${columns.count} tab-separated fields, found ${fields.length}`);
    }
    const id = fields[columns.id]!.trim();
    if (!id) throw bad(startLine, 'empty id');
    const text = fields[columns.text]!.trim();
    const title = fields[columns.title]!.trim();
    if (!text) {
      if (stats) stats.skippedEmpty++;
      continue;
    }
    if (stats) stats.documents++;
    yield makePassage(id, title, text);
  }
  if (pending !== undefined) throw bad(pendingLine, 'a quoted field is never closed (file truncated?)');
}
