import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '@rag/core';
import { NameRegistry, PHONOLOGIES, REAL_COUNTRY_NAMES, countryName, demonymOf, personName } from './names.js';
import { Prng } from './prng.js';

describe('names', () => {
  it('makes many distinct, readable country names that are not real countries', () => {
    const rng = new Prng('names');
    const reg = new NameRegistry();
    const names = Array.from({ length: 600 }, (_, i) => countryName(rng, reg, PHONOLOGIES[i % PHONOLOGIES.length]!));
    assert.equal(new Set(names.map((n) => n.toLowerCase())).size, 600);
    for (const n of names) {
      assert.match(n, /^[A-Z][a-z]{4,11}$/);
      assert.ok(!REAL_COUNTRY_NAMES.has(n.toLowerCase()), n);
    }
  });

  it('refuses to reuse a name, ignoring case', () => {
    const reg = new NameRegistry();
    assert.equal(reg.claim('Valdoria'), true);
    assert.equal(reg.claim('valdoria'), false);
    assert.throws(() => reg.unique('test', () => 'Valdoria'), UsageError);
  });

  it('derives demonyms from endings', () => {
    assert.equal(demonymOf('Valdoria'), 'Valdorian');
    assert.equal(demonymOf('Norland'), 'Norlandic');
    assert.equal(demonymOf('Karistan'), 'Karistani');
    assert.equal(demonymOf('Tomasu'), 'Tomasuan');
    assert.equal(demonymOf('Brenor'), 'Brenorian');
  });

  it('makes two-part person names', () => {
    const rng = new Prng('people');
    const reg = new NameRegistry();
    for (let i = 0; i < 200; i++) assert.match(personName(rng, reg, PHONOLOGIES[i % 4]!, i % 2 ? 'male' : 'female'), /^[A-Z][a-z]+ [A-Z][a-z]+$/);
  });
});
