import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Prng, hashKey } from './prng.js';

describe('Prng', () => {
  it('repeats the same sequence for the same seed and differs for another', () => {
    const a = new Prng(42);
    const b = new Prng(42);
    const c = new Prng(43);
    const sa = Array.from({ length: 50 }, () => a.nextU32());
    const sb = Array.from({ length: 50 }, () => b.nextU32());
    const sc = Array.from({ length: 50 }, () => c.nextU32());
    assert.deepEqual(sa, sb);
    assert.notDeepEqual(sa, sc);
    assert.equal(new Set(sa).size, 50);
  });

  it('forks streams that depend on the label only, not on draws made before', () => {
    const a = new Prng(7);
    const b = new Prng(7);
    for (let i = 0; i < 100; i++) b.next();
    assert.equal(a.fork('x').nextU32(), b.fork('x').nextU32());
    assert.notEqual(a.fork('x').nextU32(), a.fork('y').nextU32());
  });

  it('hashes similar keys to unrelated states', () => {
    const [a] = hashKey('world:1');
    const [b] = hashKey('world:2');
    // Roughly half the bits should differ between neighbouring keys.
    const diff = (a ^ b).toString(2).split('').filter((x) => x === '1').length;
    assert.ok(diff >= 6 && diff <= 26, `bits differing: ${diff}`);
  });

  it('draws uniform values within bounds', () => {
    const r = new Prng('uniform');
    const counts = new Array<number>(10).fill(0);
    let sum = 0;
    for (let i = 0; i < 20000; i++) {
      const v = r.int(0, 9);
      assert.ok(v >= 0 && v <= 9);
      counts[v] = (counts[v] as number) + 1;
      sum += r.next();
    }
    for (const c of counts) assert.ok(c > 1800 && c < 2200, `bucket ${c}`);
    assert.ok(Math.abs(sum / 20000 - 0.5) < 0.01);
    assert.throws(() => r.int(5, 4), RangeError);
  });

  it('shuffles without losing items and samples distinct ones', () => {
    const r = new Prng(3);
    const items = Array.from({ length: 30 }, (_, i) => i);
    const s = r.shuffle(items);
    assert.notDeepEqual(s, items);
    assert.deepEqual([...s].sort((x, y) => x - y), items);
    const k = r.sample(items, 10);
    assert.equal(new Set(k).size, 10);
  });
});
