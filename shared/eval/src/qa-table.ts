import type { QaRecord } from './qa-record.js';

/**
 * `qa run --out answers.csv|.tsv`: one row per question for a spreadsheet, with what a reader needs
 * to judge an answer (gold, scores, the best passage) and what produced it; the JSONL keeps the
 * rest (every passage, the document posteriors, the tokens). CSV is RFC 4180 (fields with a comma,
 * quote or line break quoted, quotes doubled); TSV has tabs and line breaks in fields replaced by
 * spaces, since TSV has no quoting.
 */
export type TableFormat = 'csv' | 'tsv';

const COLUMNS: [string, (r: QaRecord) => string | number | null | undefined][] = [
  ['id', (r) => r.id],
  ['question', (r) => r.question],
  ['answer', (r) => r.answer],
  ['gold', (r) => (r.gold ? r.gold.join(' | ') : undefined)],
  ['em', (r) => r.em],
  ['f1', (r) => r.f1],
  ['gold_rank', (r) => r.gold_rank],
  ['snapshot', (r) => r.snapshot],
  ['mode', (r) => r.mode],
  ['k', (r) => r.k],
  ['top_doc_id', (r) => r.docs[0]?.id],
  ['top_doc_title', (r) => r.docs[0]?.title],
  ['top_doc_score', (r) => r.docs[0]?.score],
  ['doc_ids', (r) => r.docs.map((d) => d.id).join(' ')],
  ['generator', (r) => r.generator?.name],
  ['generator_sha256', (r) => r.generator?.sha256],
  ['question_encoder', (r) => r.question_encoder?.name],
  ['question_encoder_sha256', (r) => r.question_encoder?.sha256],
  ['questions_file', (r) => r.questions?.path],
  ['questions_sha256', (r) => r.questions?.sha256],
  ['knowledge', (r) => r.knowledge],
  ['latency_ms', (r) => r.latency_ms],
  ['error', (r) => r.error],
];

/** The table format an output path asks for by its extension; undefined for JSONL (.jsonl, .json, .ndjson). */
export function tableFormatOf(path: string): TableFormat | undefined | 'unknown' {
  const ext = /\.([A-Za-z0-9]+)$/.exec(path)?.[1]?.toLowerCase();
  if (ext === 'csv' || ext === 'tsv') return ext;
  if (ext === 'jsonl' || ext === 'json' || ext === 'ndjson') return undefined;
  return 'unknown';
}

export function qaTableHeader(format: TableFormat): string {
  return COLUMNS.map(([name]) => name).join(format === 'csv' ? ',' : '\t') + '\n';
}

export function qaTableRow(r: QaRecord, format: TableFormat): string {
  return COLUMNS.map(([, get]) => cell(get(r), format)).join(format === 'csv' ? ',' : '\t') + '\n';
}

function cell(v: string | number | null | undefined, format: TableFormat): string {
  if (v === undefined || v === null) return '';
  const s = String(v);
  if (format === 'tsv') return s.replace(/[\t\r\n]+/g, ' ');
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
