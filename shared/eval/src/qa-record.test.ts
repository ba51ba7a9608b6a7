import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { QuestionFileError } from './eval-errors.js';
import { qaRecordLine, qaRecordSchema, readQaRecords } from './qa-record.js';
import { worldQuestions, worldRecords } from './testing/world-records.js';

const records = worldRecords(worldQuestions(20), { snapshot: 'w7-2018', year: '2018', correctShare: 0.6, failEvery: 7, k: 4 }).map((p) => p.record);

describe('QA record schema', () => {
  it('accepts answered and failed records as qa run writes them', () => {
    for (const r of records) assert.deepEqual(qaRecordSchema.parse(JSON.parse(qaRecordLine(r))), r);
    assert.ok(records.some((r) => r.error) && records.some((r) => !r.error));
  });

  it('rejects posteriors that do not fit tokens x docs, other versions, bad values', () => {
    const r = records.find((x) => !x.error && x.tokens.length >= 1)!;
    const issues = (x: unknown) => { const p = qaRecordSchema.safeParse(x); return p.success ? [] : p.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`); };
    assert.match(issues({ ...r, doc_posteriors: r.doc_posteriors.slice(1) }).join('\n'), /doc_posteriors: has \d+ rows for \d+ tokens/);
    assert.match(issues({ ...r, doc_posteriors: r.doc_posteriors.map((row) => row.slice(1)) }).join('\n'), /doc_posteriors\.0: has 3 columns for 4 docs/);
    assert.ok(issues({ ...r, v: 2 }).some((m) => m.startsWith('v:')));
    assert.ok(issues({ ...r, latency_ms: -1 }).some((m) => m.startsWith('latency_ms:')));
    assert.ok(issues({ ...r, em: 0.5 }).some((m) => m.startsWith('em:')));
    assert.ok(issues({ ...r, doc_posteriors: r.doc_posteriors.map((row) => row.map(() => 1.5)) }).length > 0);
    assert.throws(() => qaRecordLine({ ...r, k: -1 }));
  });

  it('reads a JSONL file back, listing bad lines', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rag-eval-rec-'));
    try {
      const p = join(dir, 'answers.jsonl');
      const lines = records.map(qaRecordLine);
      lines.splice(3, 0, '{not json', JSON.stringify({ ...records[0], tokens: 'x' }), '');
      await writeFile(p, lines.join('\n') + '\n');
      const back = await readQaRecords(p);
      assert.deepEqual(back.records, records);
      assert.deepEqual(back.invalid.map((x) => x.line), [4, 5]);
      assert.match(back.invalid[0]!.reason, /bad JSON/);
      assert.match(back.invalid[1]!.reason, /tokens/);
      await assert.rejects(readQaRecords(join(dir, 'missing.jsonl')), (e) => e instanceof QuestionFileError && /cannot read QA records/.test(e.message));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
