import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatHotSwap, hotSwapParts } from './hot-swap-summary.js';
import { worldQuestions, worldRecords } from './testing/world-records.js';

describe('hot-swap summary', () => {
  it('splits a run by the snapshot that answered, scored against its own year and the other', () => {
    const questions = worldQuestions(30);
    const before = worldRecords(questions, { snapshot: 'w-2016', year: '2016', correctShare: 0.8, failEvery: 0, k: 3 }).slice(0, 12);
    const afterFlip = worldRecords(questions, { snapshot: 'w-2018', year: '2018', correctShare: 0.5, failEvery: 0, k: 3 }).slice(12);
    const parts = hotSwapParts([...before, ...afterFlip].map((p) => p.record), (s) => s.slice(-4), ['2016', '2018']);
    const inYear = (p: typeof before, y: '2016' | '2018') => p.filter((x) => questions[x.record.index]!.answers[y]!.includes(x.record.answer)).length / p.length;
    assert.deepEqual(parts.map((p) => [p.snapshot, p.year, p.otherYear, p.n]), [['w-2016', '2016', '2018', 12], ['w-2018', '2018', '2016', 18]]);
    assert.equal(parts[0]!.em, inYear(before, '2016'));
    assert.equal(parts[0]!.emOther, inYear(before, '2018'));
    assert.equal(parts[1]!.em, inYear(afterFlip, '2018'));
    assert.equal(parts[1]!.emOther, inYear(afterFlip, '2016'));
    const lines = formatHotSwap(parts, { alias: 'prod', questions: 'all questions' });
    assert.match(lines[0]!, /answered from w-2016 \(before the flip\): 12 questions; EM [\d.]+% against 2016's answers, [\d.]+% against 2018's/);
    assert.match(lines[1]!, /after the flip/);
    assert.match(lines.join(' '), /What this shows: every answer records its snapshot, and answers follow prod from the flip on/);
  });
});
