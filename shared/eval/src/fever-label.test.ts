// Proves fever-label.ts reads FEVER labels in any case and in the short forms, and computes FEVER-3 accuracy and
// FEVER-2 accuracy (gold NOT ENOUGH INFO items dropped) on hand-counted examples.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { feverAccuracy, parseFeverLabel } from './fever-label.js';

describe('parseFeverLabel', () => {
  it('reads the dataset labels in any case, with stray punctuation and spacing', () => {
    assert.equal(parseFeverLabel('SUPPORTS'), 'SUPPORTS');
    assert.equal(parseFeverLabel(' refutes. '), 'REFUTES');
    assert.equal(parseFeverLabel('Not Enough Info'), 'NOT ENOUGH INFO');
    assert.equal(parseFeverLabel('NOT_ENOUGH_INFO'), 'NOT ENOUGH INFO');
    assert.equal(parseFeverLabel('not-enough-info'), 'NOT ENOUGH INFO');
  });

  it('reads short and verb forms', () => {
    for (const s of ['support', 'Supported', 'SUP']) assert.equal(parseFeverLabel(s), 'SUPPORTS', s);
    for (const s of ['refute', 'REFUTED', 'ref']) assert.equal(parseFeverLabel(s), 'REFUTES', s);
    for (const s of ['NEI', 'nei', 'not enough information', 'NotEnoughInfo']) assert.equal(parseFeverLabel(s), 'NOT ENOUGH INFO', s);
  });

  it('does not guess at free text', () => {
    for (const s of ['', 'true', 'the claim is supported', 'supports refutes', 'enough info']) assert.equal(parseFeverLabel(s), null, s);
  });
});

describe('feverAccuracy', () => {
  const items = [
    { prediction: 'SUPPORTS', gold: 'SUPPORTS' }, // right
    { prediction: 'refutes', gold: 'REFUTES' }, // right
    { prediction: 'SUPPORTS', gold: 'REFUTES' }, // wrong
    { prediction: 'NEI', gold: 'SUPPORTS' }, // wrong in both settings
    { prediction: 'not enough info', gold: 'NOT ENOUGH INFO' }, // right, 3-way only
    { prediction: 'REFUTES', gold: 'NOT ENOUGH INFO' }, // wrong, 3-way only
    { prediction: 'I am not sure', gold: 'SUPPORTS' }, // unreadable: wrong
  ];

  it('3-way counts every item; 2-way drops gold NOT ENOUGH INFO', () => {
    const acc = feverAccuracy(items);
    assert.deepEqual(acc.threeWay, { correct: 3, total: 7, accuracy: 3 / 7 });
    assert.deepEqual(acc.twoWay, { correct: 2, total: 5, accuracy: 2 / 5 });
    assert.equal(acc.unreadable, 1);
  });

  it('reports null accuracy with no items and refuses a gold that is no label', () => {
    assert.deepEqual(feverAccuracy([]), {
      threeWay: { correct: 0, total: 0, accuracy: null },
      twoWay: { correct: 0, total: 0, accuracy: null },
      unreadable: 0,
    });
    const nei = feverAccuracy([{ prediction: 'NEI', gold: 'NEI' }]);
    assert.deepEqual(nei.twoWay, { correct: 0, total: 0, accuracy: null });
    assert.throws(() => feverAccuracy([{ prediction: 'SUPPORTS', gold: 'maybe' }]), RangeError);
  });
});
