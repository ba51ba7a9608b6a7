import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aggregate, latencyStats, percentile, summarize } from './aggregate.js';
import { qaSummarySchema } from './qa-record.js';
import { worldQuestions, worldRecords } from './testing/world-records.js';

const questions = worldQuestions(50);
const planned = worldRecords(questions, { snapshot: 'w7-2016', year: '2016', correctShare: 0.7, failEvery: 10, k: 5 });
const records = planned.map((p) => p.record);

describe('aggregate', () => {
  it('counts answered and failed, and averages EM/F1 over scored records with failures as 0', () => {
    const correct = planned.filter((p) => p.answeredGold).length;
    assert.ok(correct > 20 && correct < 45, String(correct));
    const a = aggregate(records);
    assert.equal(a.n, 50);
    assert.equal(a.failed, 5);
    assert.equal(a.answered, 45);
    assert.equal(a.scored, 50);
    assert.equal(a.em, correct / 50);
    const f1Sum = records.reduce((s, r) => s + (r.error ? 0 : r.f1!), 0);
    assert.ok(Math.abs(a.f1! - f1Sum / 50) < 1e-12);
    assert.ok(a.f1! >= a.em!);
  });

  it('computes EM/F1 from answer and gold when a record does not carry them', () => {
    const bare = records.map(({ em: _em, f1: _f1, ...r }) => r);
    assert.deepEqual(aggregate(bare), aggregate(records));
  });

  it('scores against another gold on request (crossed year)', () => {
    const crossed = aggregate(records, { gold: (r) => r.gold_by_year?.['2018'] });
    // Right in 2018 too only where the 2016 answer given is also a 2018 answer.
    const expected = planned.filter((p) => p.answeredGold && questions[p.record.index]!.answers['2018']!.includes(p.record.answer)).length;
    assert.equal(crossed.em, expected / 50);
    assert.ok(crossed.em! < aggregate(records).em!);
  });

  it('has null scores when nothing has a gold', () => {
    const a = aggregate(records.map(({ gold: _g, em: _e, f1: _f, ...r }) => r));
    assert.deepEqual({ ...a }, { n: 50, answered: 45, failed: 5, scored: 0, em: null, f1: null });
  });
});

describe('latency and summary', () => {
  it('nearest-rank percentiles', () => {
    const xs = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
    assert.equal(percentile(xs, 50), 50);
    assert.equal(percentile(xs, 95), 100);
    assert.equal(percentile(xs, 10), 10);
    assert.deepEqual(latencyStats(xs.map((latency_ms) => ({ latency_ms }))), { mean: 55, p50: 50, p95: 100 });
    assert.equal(latencyStats([{ latency_ms: 5, error: 'x' }]), null);
  });

  it('summarize counts records per snapshot and validates against the schema', () => {
    const mixed = records.map((r, i) => (i >= 30 ? { ...r, snapshot: 'w7-2018' } : r));
    const s = qaSummarySchema.parse(summarize(mixed));
    const answeredBefore = records.slice(0, 30).filter((r) => !r.error).length;
    assert.deepEqual(s.snapshots, { 'w7-2016': answeredBefore, 'w7-2018': 45 - answeredBefore });
    assert.equal(s.n, 50);
    assert.equal(s.v, 1);
    const lat = records.filter((r) => !r.error).map((r) => r.latency_ms);
    assert.ok(Math.abs(s.latency_ms!.mean - lat.reduce((a, b) => a + b, 0) / lat.length) < 1e-9);
    assert.ok(s.latency_ms!.p50 <= s.latency_ms!.p95);
  });
});
