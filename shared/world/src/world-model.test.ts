import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '@rag/core';
import { REAL_COUNTRY_NAMES } from './names.js';
import { buildWorld, headOfGovernmentAt, headOfStateAt, type WorldModelOptions } from './world-model.js';

const base: WorldModelOptions = { seed: 5, years: [2016, 2018], countries: 300, hogChangeRate: 0.8, hosChangeRate: 0.5 };

describe('buildWorld', () => {
  const world = buildWorld(base);

  it('changes the head of government in exactly the asked share of countries', () => {
    const changed = world.countries.filter((c) => headOfGovernmentAt(c, 2016).personId !== headOfGovernmentAt(c, 2018).personId);
    assert.equal(changed.length, 240);
    for (const c of changed) {
      const t = headOfGovernmentAt(c, 2018);
      assert.ok(t.start === 2017 || t.start === 2018, `new term starts ${t.start}`);
    }
    const hos = world.countries.filter((c) => headOfStateAt(c, 2016).personId !== headOfStateAt(c, 2018).personId).length;
    assert.ok(hos > 30 && hos < 200, `heads of state changed: ${hos}`);
  });

  it('keeps terms contiguous and people consistent', () => {
    for (const c of world.countries) {
      for (const terms of [c.headOfState, c.headOfGovernment]) {
        assert.equal(terms[terms.length - 1]!.end, null);
        for (let i = 1; i < terms.length; i++) assert.equal(terms[i - 1]!.end, terms[i]!.start);
        for (const t of terms) {
          const p = world.people[t.personId]!;
          assert.equal(p.countryId, c.id);
          assert.ok(t.start - p.birth.year >= 10, `${p.name} took office at ${t.start - p.birth.year}`);
        }
      }
      for (const n of c.neighbours) assert.ok(world.countries[n]!.neighbours.includes(c.id), 'borders are mutual');
      assert.ok(c.neighbours.length >= 2);
      assert.ok(c.founded < 2016 && c.population['2016']! > 0 && c.population['2018']! > 0);
      assert.ok(!REAL_COUNTRY_NAMES.has(c.name.toLowerCase()));
    }
    for (const w of world.works) assert.ok(w.year < 2016 && w.year > world.people[w.creatorId]!.birth.year + 15);
  });

  it('uses every proper name once', () => {
    const names = [
      ...world.countries.flatMap((c) => [c.name, c.capital, ...c.cities, c.currency.name]),
      ...world.people.map((p) => p.name),
      ...world.works.map((w) => w.title),
    ].map((n) => n.toLowerCase());
    assert.equal(new Set(names).size, names.length);
  });

  it('is a pure function of its options', () => {
    assert.deepEqual(buildWorld(base), world);
    const other = buildWorld({ ...base, seed: 6 });
    assert.notEqual(other.countries[0]!.name, world.countries[0]!.name);
  });

  it('rejects bad options with every problem listed', () => {
    assert.throws(() => buildWorld({ ...base, countries: 1, years: [2018, 2016], hogChangeRate: 2 }), (err: unknown) => {
      assert.ok(err instanceof UsageError);
      assert.match(err.message, /countries/);
      assert.match(err.message, /ascending/);
      assert.match(err.message, /hogChangeRate/);
      return true;
    });
  });
});
