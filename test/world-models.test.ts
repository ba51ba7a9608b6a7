// The shipped world models (npm run models) on a world seed no training stage saw: the paper's
// 2016-vs-2018 experiment in small. Answers must come from the snapshot's own year; a generator
// that cannot copy unseen names out of the retrieved passages scores near 0 here.
// test-tier: full
// test-lane: serial
// test-fixtures: world-163
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runRag } from './helpers/run-rag.js';
import { tempDir } from './helpers/temp-dir.js';
import { changedRows, hasWorldModels, worldFixture } from './helpers/world-snapshots.js';

const dir = tempDir('world-models');
after(() => dir.cleanup());
const env = { RAG_STORAGE: join(dir.path, 'storage'), RAG_HOME: join(dir.path, 'home') };
let world: Awaited<ReturnType<typeof worldFixture>>;

before(async () => {
  if (hasWorldModels) world = await worldFixture(dir.path);
});

/**
 * docs/models.md, "The test world": EM on this world (seed 163, 16 countries, 120 questions) with the
 * shipped models, matched year (A = 2016 snapshot and gold, B = 2018) and crossed (the other year's gold).
 */
const DOCUMENTED = {
  ragToken: {
    changing: { a: 17 / 19, b: 19 / 19, aCrossed: 0, bCrossed: 0 },
    'multi-fact': { a: 4 / 11, b: 1 / 11, aCrossed: 0, bCrossed: 3 / 11 },
  },
  ragSequence: { changing: { a: 17 / 19, b: 19 / 19, aCrossed: 0, bCrossed: 0 } },
} as const;
/** The paper's experiment over five held-out worlds of 60 countries (361 questions), RAG-Sequence: docs/models.md. */
const FIVE_WORLDS_MATCHED = 0.925;

/**
 * `actual` within sampling noise of `expected` for n questions: two binomial standard errors, and at least
 * one question either way (another CPU's float rounding can flip one answer; p = 0 or 1 has no spread).
 */
function assertNear(actual: number, expected: number, n: number, what: string): void {
  const tolerance = Math.max(2 * Math.sqrt((expected * (1 - expected)) / n), 1 / n) + 1e-9;
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: EM ${actual.toFixed(3)}, documented ${expected.toFixed(3)} ± ${tolerance.toFixed(3)} (n ${n})`);
}

test('on an unseen world, changed-answer questions get the matched year\'s answer, not the other year\'s', { skip: !hasWorldModels && 'models/world-* missing (npm run models)', timeout: 900_000 }, async (t) => {
  const r = await runRag(['ab', '--questions', world.questions, '--a', 'world-2016', '--b', 'world-2018', '--year-a', '2016', '--year-b', '2018',
    '--changed-only', '--k', '4', '--workers', '2', '--out', join(dir.path, 'ab.html'), '--json', '--no-progress'], env);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  t.diagnostic(`n ${s.a.n}; EM 2016/2016 ${s.a.em}, 2016/2018 ${s.a.emCrossed}; 2018/2018 ${s.b.em}, 2018/2016 ${s.b.emCrossed}; by type ${JSON.stringify(s.byType)}`);
  assert.equal(s.a.n, changedRows(world.rows).length, 'every question whose answer changed');
  assert.deepEqual(Object.keys(s.byType).sort(), ['changing', 'multi-fact']);
  for (const arm of [s.a, s.b]) assert.equal(arm.failed, 0);
  for (const [type, doc] of Object.entries(DOCUMENTED.ragToken)) {
    const got = s.byType[type];
    assertNear(got.a.em, doc.a, got.n, `${type}, 2016 snapshot, 2016 gold`);
    assertNear(got.b.em, doc.b, got.n, `${type}, 2018 snapshot, 2018 gold`);
    assertNear(got.a.emCrossed, doc.aCrossed, got.n, `${type}, 2016 snapshot, 2018 gold`);
    assertNear(got.b.emCrossed, doc.bCrossed, got.n, `${type}, 2018 snapshot, 2016 gold`);
  }
  // Single-fact questions: the answer comes from the snapshot's year. Two-hop ones mostly fail
  // (docs/models.md: one retrieval step seldom brings both facts).
  const c = s.byType.changing;
  for (const arm of [c.a, c.b]) assert.ok(arm.em - arm.emCrossed >= 0.5, `matched ${arm.em} vs crossed ${arm.emCrossed}`);
});

// The paper's experiment exactly: single-fact questions whose answer changed between the dumps
// ("Who is the prime minister of X?"), RAG-Sequence. Multi-fact (two-hop) questions are left out
// here: one retrieval step seldom finds both facts (docs/models.md). This world is small (19 such
// questions); docs/models.md has five 60-country held-out worlds (361 in all).
test('the paper\'s experiment (--changed-only --type changing, RAG-Sequence): matched year as documented, crossed near 0', { skip: !hasWorldModels && 'models/world-* missing (npm run models)', timeout: 900_000 }, async (t) => {
  const r = await runRag(['ab', '--questions', world.questions, '--a', 'world-2016', '--b', 'world-2018', '--year-a', '2016', '--year-b', '2018',
    '--changed-only', '--type', 'changing', '--mode', 'rag-sequence', '--k', '4', '--workers', '2', '--out', join(dir.path, 'ab-changing.html'), '--json', '--no-progress'], env);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  const changing = changedRows(world.rows, 'changing');
  assert.equal(s.a.n, changing.length, 'exactly the changed single-fact questions');
  assert.deepEqual(Object.keys(s.byType), ['changing']);
  t.diagnostic(`n ${s.a.n}; EM 2016/2016 ${s.a.em}, 2016/2018 ${s.a.emCrossed}; 2018/2018 ${s.b.em}, 2018/2016 ${s.b.emCrossed}`);
  const doc = DOCUMENTED.ragSequence.changing;
  for (const arm of [s.a, s.b]) assert.equal(arm.failed, 0);
  assertNear(s.a.em, doc.a, s.a.n, '2016 snapshot, 2016 gold');
  assertNear(s.b.em, doc.b, s.b.n, '2018 snapshot, 2018 gold');
  assertNear(s.a.emCrossed, doc.aCrossed, s.a.n, '2016 snapshot, 2018 gold');
  assertNear(s.b.emCrossed, doc.bCrossed, s.b.n, '2018 snapshot, 2016 gold');
  // And within sampling noise of the five-world figure (one-sided: this world may do better).
  const se = Math.sqrt((FIVE_WORLDS_MATCHED * (1 - FIVE_WORLDS_MATCHED)) / s.a.n);
  for (const arm of [s.a, s.b]) assert.ok(arm.em >= FIVE_WORLDS_MATCHED - 2 * se, `${arm.snapshot}: matched EM ${arm.em} < ${FIVE_WORLDS_MATCHED} - 2 SE`);
});
