// Question answering through the real CLI: real ONNX models and FAISS shards over the shared held-out
// world's snapshots. The user's default path (embedded: a private redis-server and local generation
// workers per command) runs where it is what is tested (a full run and its resume, workers dying); the
// other commands use one Redis and two generation workers that live as long as this file, as a
// deployment's do, instead of starting both and loading every model again for each command.
// test-fixtures: world-163
// test-lane: serial
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { startEmbeddedRedis, type EmbeddedRedis } from '@rag/queue';
import { exactMatch, f1 } from '@rag/eval';
import { collect, runRag, startRag, type RagResult } from './helpers/run-rag.js';
import { tempDir } from './helpers/temp-dir.js';
import { changedRows, jsonl, TINY_GENERATOR, worldFixture } from './helpers/world-snapshots.js';

const dir = tempDir('qa');
// The tiny HF-fixture generator: these tests check the machinery, not answer quality.
const env = { RAG_STORAGE: join(dir.path, 'storage'), RAG_HOME: join(dir.path, 'home'), RAG_GENERATOR: TINY_GENERATOR, RAG_QA_CHUNK: '8' };
let world: Awaited<ReturnType<typeof worldFixture>>;
/** The long-lived deployment: REDIS_URL set, `--workers 0`, two `worker --roles generate` processes. */
let pool: { redis: EmbeddedRedis; env: Record<string, string>; workers: ChildProcess[]; exits: Promise<RagResult>[] };

before(async () => {
  world = await worldFixture(dir.path);
  const redis = await startEmbeddedRedis({ dir: join(dir.path, 'redis') });
  const penv = { ...env, REDIS_URL: redis.url, RAG_QUEUE_PREFIX: 'qa-pool' };
  const workers = [0, 1].map(() => startRag(['worker', '--roles', 'generate'], penv));
  pool = { redis, env: penv, workers, exits: workers.map((w) => collect(w, 3_600_000)) };
});
after(async () => {
  for (const w of pool?.workers ?? []) w.kill('SIGTERM');
  await Promise.all(pool?.exits ?? []);
  await pool?.redis.stop();
  dir.cleanup();
});

/** A command on the long-lived Redis and workers. */
function onPool(args: string[]): Promise<RagResult> {
  return runRag([...args, '--workers', '0'], pool.env);
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

test('qa run answers every question with provenance, scores gold, and resumes the same run', { timeout: 600_000 }, async () => {
  const out = join(dir.path, 'answers.jsonl');
  const args = ['qa', 'run', '--questions', world.questions, '--snapshot', 'world-2016', '--year', '2016', '--limit', '40', '--k', '3', '--beams', '2', '--workers', '2', '--out', out, '--json', '--no-progress'];
  const r = await runRag(args, env);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.equal(summary.n, 40);
  assert.equal(summary.answered, 40);
  assert.equal(summary.failed, 0);
  assert.deepEqual(summary.snapshots, { 'world-2016': 40 });
  const recs = jsonl(readFileSync(out, 'utf8'));
  assert.equal(recs.length, 40);
  assert.deepEqual(recs.map((x) => x.index), [...Array(40).keys()]);
  // Each answer scored against its gold as SQuAD does, and the summary the mean of those scores.
  for (const rec of recs) {
    assert.equal(rec.em, exactMatch(rec.answer, rec.gold), `EM of "${rec.answer}" against ${JSON.stringify(rec.gold)}`);
    assert.ok(Math.abs(rec.f1 - f1(rec.answer, rec.gold)) < 1e-9);
  }
  assert.ok(Math.abs(summary.em - mean(recs.map((x) => x.em))) < 1e-9, `summary EM ${summary.em}`);
  assert.ok(Math.abs(summary.f1 - mean(recs.map((x) => x.f1))) < 1e-9, `summary F1 ${summary.f1}`);
  for (const [i, rec] of recs.entries()) {
    assert.equal(rec.question, world.rows[i]!.question);
    assert.deepEqual(rec.gold, world.rows[i]!.answers['2016']);
    assert.equal(rec.snapshot, 'world-2016');
    assert.equal(rec.mode, 'rag-token');
    assert.equal(rec.docs.length, 3);
    assert.ok(rec.docs[0].score >= rec.docs[1].score && rec.docs[1].score >= rec.docs[2].score, 'docs best first');
    assert.equal(rec.doc_posteriors.length, rec.tokens.length);
    for (const row of rec.doc_posteriors) assert.ok(Math.abs(row.reduce((a: number, b: number) => a + b, 0) - 1) < 1e-3, 'posteriors sum to 1');
    assert.ok(rec.latency_ms > 0);
  }
  // The same command again continues the same run: nothing is recomputed, same answers.
  const again = await runRag(args, env);
  assert.equal(again.code, 0, again.stderr);
  const s2 = JSON.parse(again.stdout);
  assert.equal(s2.run.resumed, true);
  assert.equal(s2.run.id, summary.run.id);
  assert.equal(s2.run.answeredNow, 0, 'nothing was answered by the resumed command');
  assert.deepEqual(jsonl(readFileSync(out, 'utf8')).map((x) => x.answer), recs.map((x) => x.answer));
  // One chunk lost (as if the first command had been stopped before it): the rate is over the 8 answered now.
  rmSync(join(env.RAG_STORAGE, 'qa-runs', summary.run.id, 'results', '00002.jsonl'));
  const third = await runRag(args.filter((a) => a !== '--json'), env);
  assert.equal(third.code, 0, third.stderr);
  assert.match(third.stderr, /: 8 answered now \(\d+\.\d\d q\/s\), 32 from the earlier attempt; .*\(resumed\)/);
  assert.deepEqual(jsonl(readFileSync(out, 'utf8')).map((x) => x.answer), recs.map((x) => x.answer));
});

test('every row and the summary say what made them; --out by extension (.csv, .tsv); --with-text; snapshot passage', { timeout: 300_000 }, async () => {
  const fileSha = createHash('sha256').update(readFileSync(world.questions)).digest('hex');
  const base = ['qa', 'run', '--questions', world.questions, '--snapshot', 'world-2016', '--year', '2016', '--limit', '8', '--k', '2', '--beams', '1', '--no-progress'];
  const out = join(dir.path, 'made.jsonl');
  const r = await onPool([...base, '--out', out, '--with-text']);
  assert.equal(r.code, 0, r.stderr);
  const recs = jsonl(readFileSync(out, 'utf8'));
  const summary = JSON.parse(readFileSync(join(dir.path, 'made.summary.json'), 'utf8'));
  assert.equal(recs.length, 8);
  for (const rec of recs) {
    assert.equal(rec.generator.name, summary.generator.name);
    assert.match(rec.generator.sha256, /^[0-9a-f]{64}$/);
    assert.match(rec.question_encoder.sha256, /^[0-9a-f]{64}$/);
    assert.deepEqual(rec.questions, { path: world.questions, sha256: fileSha });
    assert.equal(rec.knowledge, undefined, 'the tiny generator has no model card');
    // Per question: its share of the batch it was decoded in.
    assert.ok(rec.batch_questions >= 1 && rec.batch_ms >= rec.latency_ms, JSON.stringify(rec));
    assert.ok(Math.abs(rec.latency_ms * rec.batch_questions - rec.batch_ms) <= 0.1 * rec.batch_questions, JSON.stringify(rec));
  }
  assert.deepEqual(summary.questions, { path: world.questions, sha256: fileSha, format: 'world-jsonl' });
  assert.equal(summary.generator.sha256, recs[0].generator.sha256);
  assert.equal(summary.question_encoder.sha256, recs[0].question_encoder.sha256);
  // --with-text and `snapshot passage` (both by the page table) against a scan of every passage of the snapshot.
  const all = await runRag(['snapshot', 'passages', 'world-2016'], env);
  const byId = new Map(jsonl(all.stdout).map((p) => [p.id, p]));
  for (const rec of recs) for (const d of rec.docs) assert.equal(d.text, byId.get(d.id)!.text);
  const ids = [...new Set(recs.flatMap((x) => x.docs.map((d: { id: string }) => d.id)))].reverse();
  const looked = await runRag(['snapshot', 'passage', 'world-2016', ...ids], env);
  assert.equal(looked.code, 0, looked.stderr);
  assert.deepEqual(jsonl(looked.stdout), ids.map((id) => byId.get(id)), 'each id asked for, in the order asked');
  const unknownId = await runRag(['snapshot', 'passage', 'world-2016', 'no-such-0'], env);
  assert.equal(unknownId.code, 2);
  assert.match(unknownId.stderr, /has no passage no-such-0/);

  // CSV and TSV: one row per question with a header; quoting holds (questions have commas and quotes).
  for (const [ext, sep] of [['csv', ','], ['tsv', '\t']] as const) {
    const table = join(dir.path, `made.${ext}`);
    const t = await onPool([...base, '--out', table]);
    assert.equal(t.code, 0, t.stderr);
    const text = readFileSync(table, 'utf8');
    const rows = parseTable(text, sep);
    assert.equal(rows.length, 9, 'a header and eight rows');
    const col = (name: string) => rows[0]!.indexOf(name);
    assert.deepEqual(rows.slice(1).map((row) => row[col('id')]), recs.map((x) => x.id));
    assert.deepEqual(rows.slice(1).map((row) => row[col('answer')]), recs.map((x) => x.answer));
    assert.deepEqual(rows.slice(1).map((row) => row[col('question')]), recs.map((x) => x.question));
    assert.deepEqual(rows.slice(1).map((row) => row[col('questions_sha256')]), recs.map(() => fileSha));
    assert.ok(existsSync(join(dir.path, 'made.summary.json')));
  }
});

test('an --out that cannot be written is refused before any question is answered', { timeout: 120_000 }, async () => {
  const runs = () => (existsSync(join(env.RAG_STORAGE, 'qa-runs')) ? readdirSync(join(env.RAG_STORAGE, 'qa-runs')).length : 0);
  const before = runs();
  const args = ['qa', 'run', '--questions', world.questions, '--snapshot', 'world-2016', '--limit', '4', '--no-progress', '--workers', '1'];
  const noDir = await runRag([...args, '--out', join(dir.path, 'no', 'such', 'dir', 'a.jsonl')], env);
  assert.equal(noDir.code, 2, noDir.stderr);
  assert.match(noDir.stderr, /directory .*no\/such\/dir does not exist/);
  const badExt = await runRag([...args, '--out', join(dir.path, 'answers.txt')], env);
  assert.equal(badExt.code, 2, badExt.stderr);
  assert.match(badExt.stderr, /unknown file type.*\.jsonl.*\.csv.*\.tsv/s);
  mkdirSync(join(dir.path, 'a-dir.jsonl'));
  const isDir = await runRag([...args, '--out', join(dir.path, 'a-dir.jsonl')], env);
  assert.equal(isDir.code, 2, isDir.stderr);
  assert.match(isDir.stderr, /is a directory/);
  assert.equal(runs(), before, 'no run was prepared, so no question was answered');
});

/** RFC 4180 CSV (quoted fields, doubled quotes) or TSV, into rows of cells. */
function parseTable(text: string, sep: string): string[][] {
  if (sep === '\t') return text.trimEnd().split('\n').map((l) => l.split('\t'));
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') quoted = false; else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === sep) { row.push(cell); cell = ''; } else if (c === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; } else cell += c;
  }
  return rows;
}

test('invalid question lines are reported and skipped; the rest run', { timeout: 300_000 }, async () => {
  const file = join(dir.path, 'mixed.jsonl');
  writeFileSync(file, [
    JSON.stringify({ question: 'Who is the president of Nowhere?', answer: ['Nobody'] }),
    '{not json',
    JSON.stringify({ question: '', answer: ['x'] }),
    JSON.stringify({ question: 'What is the capital of Nowhere?', answer: ['Nowhere City'] }),
  ].join('\n') + '\n');
  const r = await onPool(['qa', 'run', '--questions', file, '--snapshot', 'world-2016', '--k', '2', '--beams', '1', '--json', '--no-progress']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /mixed\.jsonl:2: skipped/);
  assert.match(r.stderr, /mixed\.jsonl:3: skipped/);
  const s = JSON.parse(r.stdout);
  assert.equal(s.n, 2);
  assert.equal(s.answered, 2);
  assert.equal(s.failed, 0);
});

test('bad question files and unknown snapshots fail fast with one clear line', { timeout: 120_000 }, async () => {
  const missing = await runRag(['qa', 'run', '--questions', join(dir.path, 'nope.jsonl'), '--snapshot', 'world-2016', '--no-progress'], env);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /nope\.jsonl/);
  const empty = join(dir.path, 'empty.jsonl');
  writeFileSync(empty, '{"question": "", "answer": ["x"]}\n{broken\n');
  const none = await runRag(['qa', 'run', '--questions', empty, '--snapshot', 'world-2016', '--no-progress'], env);
  assert.notEqual(none.code, 0);
  assert.match(none.stderr, /no valid question|no questions/i);
  const unknown = await runRag(['qa', 'run', '--questions', world.questions, '--snapshot', 'world-1999', '--no-progress'], env);
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /world-1999/);
  assert.equal(unknown.stderr.trim().split('\n').length, 1, unknown.stderr);
});

test('no-retrieval, rag-sequence and rag-sequence-fast modes run through the workers', { timeout: 600_000 }, async () => {
  for (const mode of ['no-retrieval', 'rag-sequence', 'rag-sequence-fast']) {
    const out = join(dir.path, `${mode}.jsonl`);
    const r = await onPool(['qa', 'run', '--questions', world.questions, '--snapshot', 'world-2016', '--year', '2016', '--limit', '6', '--mode', mode, '--k', '2', '--beams', '2', '--out', out, '--json', '--no-progress']);
    assert.equal(r.code, 0, `${mode}: ${r.stderr}`);
    const recs = jsonl(readFileSync(out, 'utf8'));
    assert.equal(recs.length, 6);
    assert.deepEqual(recs.map((x) => x.question), world.rows.slice(0, 6).map((x) => x.question));
    for (const rec of recs) {
      assert.equal(rec.mode, mode);
      assert.equal(typeof rec.answer, 'string');
      if (mode === 'no-retrieval') {
        assert.equal(rec.docs.length, 0);
        assert.equal(rec.snapshot, 'none');
      } else {
        assert.equal(rec.docs.length, 2);
        assert.equal(rec.doc_posteriors.length, rec.tokens.length);
      }
    }
  }
});

test('--type keeps only the named question types; an unknown type or a file without types fails with what is on offer', { timeout: 600_000 }, async () => {
  const out = join(dir.path, 'invariant.jsonl');
  const q = await onPool(['qa', 'run', '--questions', world.questions, '--snapshot', 'world-2016', '--year', '2016', '--type', 'invariant', '--limit', '3', '--k', '2', '--beams', '1', '--out', out, '--json', '--no-progress']);
  assert.equal(q.code, 0, q.stderr);
  const recs = jsonl(readFileSync(out, 'utf8'));
  assert.deepEqual(recs.map((r) => r.type), ['invariant', 'invariant', 'invariant']);
  assert.deepEqual(recs.map((r) => r.question), world.rows.filter((x) => x.type === 'invariant').slice(0, 3).map((x) => x.question));

  const ab = await onPool(['ab', '--questions', world.questions, '--a', 'world-2016', '--b', 'world-2018', '--year-a', '2016', '--year-b', '2018', '--changed-only', '--type', 'changing', '--k', '2', '--beams', '1', '--out', join(dir.path, 'ab-type.html'), '--json', '--no-progress']);
  assert.equal(ab.code, 0, ab.stderr);
  const s = JSON.parse(ab.stdout);
  const changed = changedRows(world.rows, 'changing');
  assert.ok(changed.length > 0);
  assert.equal(s.a.n, changed.length);
  assert.deepEqual(Object.keys(s.byType), ['changing']);
  assert.equal(s.byType.changing.a.em, s.a.em);
  assert.equal(s.byType.changing.b.emCrossed, s.b.emCrossed);
  // The paper's experiment leads the summary: here exactly these questions, with the paper's figures beside.
  assert.equal(s.paper.n, changed.length);
  assert.deepEqual([s.paper.a.em, s.paper.a.emCrossed, s.paper.b.em, s.paper.b.emCrossed], [s.a.em, s.a.emCrossed, s.b.em, s.b.emCrossed]);
  assert.deepEqual([s.paper.a.paper, s.paper.b.paper], [{ em: 0.7, emCrossed: 0.04 }, { em: 0.68, emCrossed: 0.12 }]);

  const unknown = await onPool(['ab', '--questions', world.questions, '--a', 'world-2016', '--b', 'world-2018', '--type', 'changing,leaders', '--out', join(dir.path, 'x.html'), '--no-progress']);
  assert.notEqual(unknown.code, 0, 'a misspelt type among good ones is refused, not silently dropped');
  assert.match(unknown.stderr, /--type leaders:/);
  assert.match(unknown.stderr, /changing, invariant, multi-fact/);
  const nq = join(dir.path, 'nq.jsonl');
  writeFileSync(nq, '{"question": "who wrote the book of kells", "answer": ["monks"]}\n');
  const untyped = await onPool(['ab', '--questions', nq, '--a', 'world-2016', '--b', 'world-2018', '--type', 'changing', '--out', join(dir.path, 'y.html'), '--no-progress']);
  assert.notEqual(untyped.code, 0);
  assert.match(untyped.stderr, /gives no question types/);
});

test('ab writes an HTML report and a JSON summary with matched and crossed EM; explain and sweep-k produce their artefacts', { timeout: 900_000 }, async () => {
  const report = join(dir.path, 'ab.html');
  const answers = join(dir.path, 'ab-answers');
  const r = await onPool(['ab', '--questions', world.questions, '--a', 'world-2016', '--b', 'world-2018', '--year-a', '2016', '--year-b', '2018', '--limit', '10', '--k', '2', '--beams', '1', '--answers', answers, '--out', report, '--json', '--no-progress']);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.a.snapshot, 'world-2016');
  assert.equal(s.b.snapshot, 'world-2018');
  assert.equal(s.a.n, 10);
  assert.equal(s.b.n, 10);
  // Each arm's matched EM/F1 is the mean over its answers against its own year's gold, crossed EM against the other year's.
  for (const [arm, side, year, other] of [[s.a, 'a', '2016', '2018'], [s.b, 'b', '2018', '2016']] as const) {
    const recs = jsonl(readFileSync(`${answers}.${side}.jsonl`, 'utf8'));
    assert.equal(recs.length, 10);
    const gold = recs.map((x) => world.rows[x.index]!.answers);
    assert.ok(Math.abs(arm.em - mean(recs.map((x, i) => exactMatch(x.answer, gold[i]![year]!)))) < 1e-9, `${side} EM ${arm.em}`);
    assert.ok(Math.abs(arm.f1 - mean(recs.map((x, i) => f1(x.answer, gold[i]![year]!)))) < 1e-9, `${side} F1 ${arm.f1}`);
    assert.ok(Math.abs(arm.emCrossed - mean(recs.map((x, i) => exactMatch(x.answer, gold[i]![other]!)))) < 1e-9, `${side} crossed EM ${arm.emCrossed}`);
    assert.ok(recs.every((x) => x.snapshot === arm.snapshot));
  }
  const html = readFileSync(report, 'utf8');
  assert.match(html, /world-2016/);
  assert.match(html, /crossed/);
  assert.match(html, /<p class="meta">A · world-2016 \(2016\) — B · world-2018 \(2018\)<\/p>/, 'each arm named once');
  assert.ok(!/A: A:|world-2016 · world-2016/.test(html));

  const sweepOut = join(dir.path, 'sweep.html');
  const sw = await onPool(['sweep-k', '--questions', world.questions, '--snapshot', 'world-2016', '--year', '2016', '--k', '1,3', '--limit', '6', '--beams', '1', '--out', sweepOut, '--json', '--no-progress']);
  assert.equal(sw.code, 0, sw.stderr);
  const rows = JSON.parse(sw.stdout).rows as { k: number; n: number; em: number }[];
  assert.deepEqual(rows.map((x) => x.k), [1, 3]);
  assert.deepEqual(rows.map((x) => x.n), [6, 6]);
  assert.match(readFileSync(sweepOut, 'utf8'), /<svg/);

  const html2 = join(dir.path, 'explain.html');
  const ex = await runRag(['explain', '--snapshot', 'world-2018', '--question', world.rows[0]!.question, '--k', '3', '--html', html2, '--no-png', '--json'], env);
  assert.equal(ex.code, 0, ex.stderr);
  const rec = JSON.parse(ex.stdout);
  assert.equal(rec.snapshot, 'world-2018');
  assert.equal(rec.docs.length, 3);
  assert.ok(existsSync(html2));
});

test('explain and sweep-k write under RAG_HOME unless given a path; without Chromium explain keeps the HTML and says why there is no PNG', { timeout: 300_000 }, async () => {
  const home = env.RAG_HOME;
  const sw = await onPool(['sweep-k', '--questions', world.questions, '--snapshot', 'world-2016', '--year', '2016', '--k', '1', '--limit', '2', '--beams', '1', '--no-progress']);
  assert.equal(sw.code, 0, sw.stderr);
  assert.ok(existsSync(join(home, 'sweep-k.html')), sw.stdout);
  assert.match(sw.stdout, new RegExp(`plot: ${join(home, 'sweep-k.html')}`));

  // A PATH with node and what ./rag needs, but no Chromium.
  const bin = join(dir.path, 'bin-without-chromium');
  mkdirSync(bin, { recursive: true });
  for (const tool of ['node', 'bash', 'dirname']) {
    const found = spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    symlinkSync(found, join(bin, tool));
  }
  const noChromium = { ...env, PATH: bin };
  const ex = await runRag(['explain', '--snapshot', 'world-2018', '--question', world.rows[0]!.question, '--k', '2', '--beams', '1'], noChromium);
  assert.equal(ex.code, 0, ex.stderr);
  assert.ok(existsSync(join(home, 'explain.html')));
  assert.ok(!existsSync(join(home, 'explain.png')));
  assert.match(ex.stderr, /no PNG written: no headless Chromium/);
  assert.match(ex.stdout, new RegExp(`heatmap: ${join(home, 'explain.html')}\n`));
  // The world question encoder scales its vectors by 20: the scores printed are 20 x cosine, and say so.
  assert.match(ex.stdout, /score: 20 × cosine similarity/);
  const top = Number(/^\s+1\. \[([\d.-]+)\]/m.exec(ex.stdout)?.[1]);
  assert.ok(top > 1 && top <= 20, ex.stdout);
  // A PNG asked for by name is not skipped quietly.
  const asked = await runRag(['explain', '--snapshot', 'world-2018', '--question', world.rows[0]!.question, '--k', '2', '--beams', '1', '--png', join(dir.path, 'asked.png')], noChromium);
  assert.equal(asked.code, 1);
  assert.match(asked.stderr, /no headless Chromium/);
});

test('when every local worker dies, the command fails with the log location instead of waiting forever', { timeout: 300_000 }, async () => {
  const child = startRag(['qa', 'run', '--questions', world.questions, '--snapshot', 'world-2016', '--workers', '1', '--fresh', '--json', '--no-progress'], env);
  const done = collect(child, 300_000);
  // The CLI's only worker process: kill -9 it once it exists.
  let workerPid: number | undefined;
  for (let i = 0; i < 200 && !workerPid; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const kids = spawnSync('pgrep', ['-P', String(child.pid), '-f', 'worker/src/main.ts'], { encoding: 'utf8' }).stdout.trim();
    if (kids) workerPid = Number(kids.split('\n')[0]);
  }
  assert.ok(workerPid, 'found the worker process');
  process.kill(workerPid!, 'SIGKILL');
  const r = await done;
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /worker process\(es\) exited/);
  assert.match(r.stderr, /logs/);
});

test('a chunk decoded in batches gives every question the answer it gets alone; a failing batch falls back to one at a time', { timeout: 600_000 }, async () => {
  const { loadConfig } = await import('@rag/config');
  const { answerQuestions, lazyQaModels } = await import('@rag/qa');
  const { SnapshotRetriever } = await import('@rag/retrieval');
  const { LocalObjectStore } = await import('@rag/storage');
  const config = loadConfig(env);
  const models = lazyQaModels(config.generation, config.onnx);
  const retriever = await SnapshotRetriever.load(new LocalObjectStore(env.RAG_STORAGE), 'world-2016');
  try {
    const questions = world.rows.slice(0, 12).map((r: { question: string }, i: number) => ({ id: `q${i}`, index: i, question: r.question }));
    const settings = { target: 'world-2016', mode: 'rag-token' as const, k: 3, beams: 2 };
    const m = await models.get();
    const batched = await answerQuestions(questions, { models: m, retriever, settings, generationBatch: 16 });
    const single = await answerQuestions(questions, { models: m, retriever, settings, generationBatch: 1 });
    assert.equal(batched.length, 12);
    for (const [i, b] of batched.entries()) {
      const s = single[i]!;
      assert.equal(b.error, undefined);
      assert.equal(b.answer, s.answer, `question ${i}`);
      assert.deepEqual(b.tokens, s.tokens);
      b.doc_posteriors.forEach((row, t) => row.forEach((p, z) => assert.ok(Math.abs(p - s.doc_posteriors[t]![z]!) < 1e-4, `question ${i} posterior`)));
    }
    // One question retrieving fewer passages makes its batch invalid (K differs): the batch is retried one
    // question at a time and every question is still answered.
    const uneven = Object.create(retriever) as typeof retriever;
    uneven.searchVectors = async (v, n, k) => (await retriever.searchVectors(v, n, k)).map((hits, i) => (i === 3 ? hits.slice(0, 2) : hits));
    const fallback = await answerQuestions(questions, { models: m, retriever: uneven, settings, generationBatch: 16 });
    assert.ok(fallback.every((r) => r.error === undefined));
    fallback.forEach((r, i) => (i === 3 ? assert.equal(r.docs.length, 2) : assert.equal(r.answer, batched[i]!.answer)));
  } finally {
    await models.release();
  }
});
