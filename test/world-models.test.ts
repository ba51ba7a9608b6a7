// The shipped world models (npm run models) on a world seed no training stage saw: the paper's
// 2016-vs-2018 experiment in small. Answers must come from the snapshot's own year; a generator
// that cannot copy unseen names out of the retrieved passages scores near 0 here.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runRag } from './helpers/run-rag.js';
import { tempDir } from './helpers/temp-dir.js';
import { buildWorld, hasWorldModels } from './helpers/world-snapshots.js';

const dir = tempDir('world-models');
after(() => dir.cleanup());
const env = { RAG_STORAGE: join(dir.path, 'storage'), RAG_HOME: join(dir.path, 'home') };
let world: Awaited<ReturnType<typeof buildWorld>>;

before(async () => {
  if (hasWorldModels) world = await buildWorld(dir.path, env, { seed: 163, countries: 16, questions: 120 });
});

test('on an unseen world, changed-answer questions get the matched year\'s answer, not the other year\'s', { skip: !hasWorldModels && 'models/world-* missing (npm run models)', timeout: 900_000 }, async (t) => {
  const r = await runRag(['ab', '--questions', world.questions, '--a', 'world-2016', '--b', 'world-2018', '--year-a', '2016', '--year-b', '2018',
    '--changed-only', '--k', '4', '--workers', '2', '--out', join(dir.path, 'ab.html'), '--json', '--no-progress'], env);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  t.diagnostic(`n ${s.a.n}; EM 2016/2016 ${s.a.em}, 2016/2018 ${s.a.emCrossed}; 2018/2018 ${s.b.em}, 2018/2016 ${s.b.emCrossed}`);
  assert.ok(s.a.n >= 15, `enough changed-answer questions (${s.a.n})`);
  for (const arm of [s.a, s.b]) {
    assert.equal(arm.failed, 0);
    assert.ok(arm.em >= 0.45, `${arm.snapshot}: matched-year EM ${arm.em}`);
    assert.ok(arm.emCrossed <= 0.3, `${arm.snapshot}: crossed-year EM ${arm.emCrossed}`);
    assert.ok(arm.em - arm.emCrossed >= 0.3, `${arm.snapshot}: matched ${arm.em} vs crossed ${arm.emCrossed}`);
  }
});

// The paper's experiment exactly: single-fact questions whose answer changed between the dumps
// ("Who is the prime minister of X?"), RAG-Sequence. Multi-fact (two-hop) questions are left out
// here: one retrieval step seldom finds both facts (docs/models.md). This world is small (19 such
// questions, ~5% each); docs/models.md has four 60-country held-out worlds (~72 each).
test('the paper\'s experiment (--changed-only --type changing, RAG-Sequence): matched year >= 0.8, crossed <= 0.1', { skip: !hasWorldModels && 'models/world-* missing (npm run models)', timeout: 900_000 }, async (t) => {
  const r = await runRag(['ab', '--questions', world.questions, '--a', 'world-2016', '--b', 'world-2018', '--year-a', '2016', '--year-b', '2018',
    '--changed-only', '--type', 'changing', '--mode', 'rag-sequence', '--k', '4', '--workers', '2', '--out', join(dir.path, 'ab-changing.html'), '--json', '--no-progress'], env);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  const changing = world.rows.filter((q) => q.type === 'changing' && q.answers['2016'][0] !== q.answers['2018'][0]);
  assert.equal(s.a.n, changing.length, 'exactly the changed single-fact questions');
  assert.deepEqual(Object.keys(s.byType), ['changing']);
  t.diagnostic(`n ${s.a.n}; EM 2016/2016 ${s.a.em}, 2016/2018 ${s.a.emCrossed}; 2018/2018 ${s.b.em}, 2018/2016 ${s.b.emCrossed}`);
  for (const arm of [s.a, s.b]) {
    assert.equal(arm.failed, 0);
    assert.ok(arm.em >= 0.8, `${arm.snapshot}: matched-year EM ${arm.em}`);
    assert.ok(arm.emCrossed <= 0.1, `${arm.snapshot}: crossed-year EM ${arm.emCrossed}`);
  }
});
