// The A/B report's title, and question-file warnings reported once per process (ab reads a file per arm).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { abTitle } from './commands/ab.js';
import { loadQuestionSet } from './qa-runner.js';

test('the A/B title names the subset once', () => {
  assert.equal(abTitle('prod', 'w-2018', true, ['changing']), 'A/B: prod vs w-2018 (questions whose answer changed)');
  assert.equal(abTitle('prod', 'w-2018', true, undefined), 'A/B: prod vs w-2018 (questions whose answer changed)');
  assert.equal(abTitle('a', 'b', true, ['changing', 'multi-fact']), 'A/B: a vs b (questions whose answer changed; type multi-fact)');
  assert.equal(abTitle('a', 'b', false, ['changing']), 'A/B: a vs b (type changing)');
  assert.equal(abTitle('a', 'b', false, undefined), 'A/B: a vs b');
});

test('bad question lines are reported once however often the file is read', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rag-qlines-'));
  const file = join(dir, 'q.jsonl');
  writeFileSync(file, [JSON.stringify({ question: 'Who?', answer: ['x'] }), '{broken', JSON.stringify({ question: 'What?', answer: ['y'] })].join('\n') + '\n');
  const lines: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => { lines.push(String(chunk)); return true; }) as typeof process.stderr.write;
  try {
    const a = await loadQuestionSet(file, {});
    const b = await loadQuestionSet(file, { year: '2016' });
    assert.equal(a.invalid.length, 1);
    assert.equal(b.invalid.length, 1, 'each read still knows its invalid lines');
  } finally {
    process.stderr.write = write;
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(lines.filter((l) => l.includes('q.jsonl:2: skipped')).length, 1, lines.join(''));
});
