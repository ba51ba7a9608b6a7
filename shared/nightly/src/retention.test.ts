// planRetention keeps the newest nights, the alias's newest real versions and every alias target, removes the
// other nights of the prefix oldest first, and never touches a snapshot that is not `<prefix>-<yyyymmdd>`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planRetention, type RetentionInput } from './retention.js';

const night = (d: number) => `night-202601${String(d).padStart(2, '0')}`;
const nights = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => night(from + i));
/** Not nights of the prefix `night`: wrong shape, another prefix, a suffix, too few or many digits. */
const others = ['hotfix', 'other-20260101', 'nightly-20260101', 'night-x-20260101', 'night-20260101-hotfix', 'night-2026011', 'night-202601011', 'night-2026o101'];

const base = (o: Partial<RetentionInput> = {}): RetentionInput => ({
  // Shuffled on purpose: the plan sorts by date itself.
  published: [night(5), ...others.slice(0, 4), night(1), night(10), night(3), night(8), ...others.slice(4), night(2), night(9), night(4), night(7), night(6)],
  snapshotPrefix: 'night',
  aliasHistory: [],
  aliasTargets: [],
  keepNights: 3,
  keepAliasVersions: 2,
  ...o,
});

test('keeps the newest keepNights nights (newest first) and removes the rest oldest first', () => {
  const plan = planRetention(base());
  assert.deepEqual(plan.keep, [night(10), night(9), night(8)].map((id) => ({ id, why: 'one of the newest 3 nights' })));
  assert.deepEqual(plan.remove, nights(1, 7));
});

test('keeps the snapshots of the alias\'s newest real (non-voided) versions and everything an alias points at', () => {
  const plan = planRetention(base({
    aliasHistory: [
      { snapshot: night(1) },
      { snapshot: night(2) },
      { snapshot: night(3), voided: 'bad answers' },
      { snapshot: night(4) },
      { snapshot: night(5), voided: 'rolled back' },
      { snapshot: night(9) }, // already kept as a newest night: keeps that reason
    ],
    aliasTargets: [night(3), 'hotfix'],
  }));
  // Real versions, newest last: 1, 2, 4, 9 -> the newest two are 9 and 4. night 3 is voided but an alias points at it.
  assert.deepEqual(plan.keep, [
    { id: night(10), why: 'one of the newest 3 nights' },
    { id: night(9), why: 'one of the newest 3 nights' },
    { id: night(8), why: 'one of the newest 3 nights' },
    { id: night(4), why: "in the alias's newest 2 versions" },
    { id: night(3), why: 'an alias points at it' },
  ]);
  assert.deepEqual(plan.remove, [night(1), night(2), night(5), night(6), night(7)]);
});

test('keepAliasVersions reaches past voided versions to the real ones', () => {
  const plan = planRetention(base({
    keepNights: 1,
    keepAliasVersions: 3,
    aliasHistory: [night(2), night(4), night(6), night(7), night(8)].map((s, i) => (i >= 2 ? { snapshot: s, voided: 'x' } : { snapshot: s })),
  }));
  // Only 2 and 4 are real: both kept, nothing voided is.
  assert.deepEqual(plan.keep.map((k) => k.id), [night(10), night(4), night(2)]);
  assert.deepEqual(plan.remove, [night(1), night(3), night(5), night(6), night(7), night(8), night(9)]);
});

test('snapshots that are not nights of the prefix are never kept or removed, even with nothing to keep', () => {
  const plan = planRetention(base({ published: [...others, night(1), night(2)], keepNights: 1 }));
  assert.deepEqual(plan.keep.map((k) => k.id), [night(2)]);
  assert.deepEqual(plan.remove, [night(1)]);
  const planned = new Set([...plan.keep.map((k) => k.id), ...plan.remove]);
  for (const o of others) assert.equal(planned.has(o), false, o);
  // An alias target that is not a night stays out of the plan too.
  assert.deepEqual(planRetention(base({ published: others, aliasTargets: ['hotfix'] })), { keep: [], remove: [] });
});

test('every night is either kept or removed, never both, and more keepNights than nights removes nothing', () => {
  const plan = planRetention(base({ aliasHistory: [{ snapshot: night(2) }], aliasTargets: [night(6)] }));
  const kept = plan.keep.map((k) => k.id);
  assert.deepEqual([...kept, ...plan.remove].sort(), nights(1, 10));
  assert.equal(kept.filter((k) => plan.remove.includes(k)).length, 0);
  assert.deepEqual(planRetention(base({ keepNights: 50 })).remove, []);
});

test('a prefix is matched exactly: night- nights are not nights of the prefix nigh', () => {
  const plan = planRetention(base({ snapshotPrefix: 'nigh', keepNights: 1 }));
  assert.deepEqual(plan, { keep: [], remove: [] });
});
