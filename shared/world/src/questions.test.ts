import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildWorld, headOfGovernmentAt } from './world-model.js';
import { questionLine, questionPool, selectQuestions, worldQuestionSchema } from './questions.js';

const world = buildWorld({ seed: 11, years: [2016, 2018], countries: 300, hogChangeRate: 0.8, hosChangeRate: 0.5 });

describe('questions', () => {
  it('asks every question once, with one answer list per dump year', () => {
    const pool = questionPool(world);
    assert.equal(new Set(pool.map((q) => q.question)).size, pool.length);
    for (const q of pool) {
      assert.deepEqual(Object.keys(q.answers), ['2016', '2018']);
      const differ = JSON.stringify(q.answers['2016']) !== JSON.stringify(q.answers['2018']);
      if (q.type === 'changing') assert.ok(differ, q.question);
      if (q.type === 'invariant') assert.ok(!differ, q.question);
    }
  });

  it('has about 80% of head-of-government answers changing', () => {
    const hog = questionPool(world).filter((q) => q.relation === 'head_of_government');
    assert.equal(hog.length, 300);
    const changing = hog.filter((q) => q.type === 'changing').length;
    assert.equal(changing / hog.length, 0.8);
    // The answers are the model's office holders, year by year.
    const c = world.countries[0]!;
    const q = hog.find((x) => x.question.endsWith(` of ${c.name}?`))!;
    assert.equal(q.answers['2018']![0], world.people[headOfGovernmentAt(c, 2018).personId]!.name);
  });

  it('selects the asked number, mixing all three types, with valid lines', () => {
    const qs = selectQuestions(world, { count: 1200 });
    assert.equal(qs.length, 1200);
    const byType = { changing: 0, invariant: 0, 'multi-fact': 0 };
    for (const q of qs) {
      byType[q.type]++;
      const line = questionLine(q);
      assert.deepEqual(Object.keys(JSON.parse(line)), ['question', 'answers', 'type', 'relation', 'id']);
      worldQuestionSchema.parse(JSON.parse(line));
    }
    assert.ok(byType.changing >= 300 && byType.invariant >= 300 && byType['multi-fact'] >= 250, JSON.stringify(byType));
    assert.deepEqual(selectQuestions(world, { count: 1200 }), qs);
    assert.equal(qs[0]!.id, 'q00001');
  });

  it('returns the whole pool when asked for more than exists', () => {
    const small = buildWorld({ seed: 1, years: [2016, 2018], countries: 5, hogChangeRate: 0.8, hosChangeRate: 0.5 });
    assert.equal(selectQuestions(small, { count: 100000 }).length, questionPool(small).length);
  });
});
