// The synthetic world through the real CLI: deterministic generation, and both years' dumps
// ingest cleanly through ./rag snapshot build with the answer-bearing passages retrievable.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runRag } from './helpers/run-rag.js';
import { tempDir } from './helpers/temp-dir.js';

const dir = tempDir('world');
after(() => dir.cleanup());
const env = { RAG_STORAGE: join(dir.path, 'storage'), RAG_HOME: join(dir.path, 'home') };

function filesOf(root: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), join(rel, e.name));
      else out.set(join(rel, e.name), readFileSync(join(d, e.name)));
    }
  };
  walk(root, '');
  return out;
}

test('./rag world generate is deterministic per seed', async () => {
  for (const out of ['a', 'b']) {
    const r = await runRag(['world', 'generate', '--seed', '7', '--out', join(dir.path, out), '--countries', '30', '--questions', '120'], env);
    assert.equal(r.code, 0, r.stderr);
  }
  const a = filesOf(join(dir.path, 'a'));
  const b = filesOf(join(dir.path, 'b'));
  assert.deepEqual([...a.keys()].sort(), ['2016/world.xml.bz2', '2018/world.xml.bz2', 'questions.jsonl', 'world.json']);
  for (const [k, v] of a) assert.ok(v.equals(b.get(k)!), `${k} identical`);
  const r = await runRag(['world', 'generate', '--seed', '8', '--out', join(dir.path, 'c'), '--countries', '30', '--questions', '120'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!filesOf(join(dir.path, 'c')).get('questions.jsonl')!.equals(a.get('questions.jsonl')!));
});

test('both years ingest cleanly and retrieval finds the year\'s answer', async () => {
  const questions = readFileSync(join(dir.path, 'a', 'questions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  for (const year of ['2016', '2018']) {
    const id = `world-${year}`;
    const r = await runRag(['snapshot', 'build', '--source', join(dir.path, 'a', year, 'world.xml.bz2'), '--snapshot', id, '--workers', '1', '--no-progress'], env);
    assert.equal(r.code, 0, r.stderr);
    const rows = (await runRag(['snapshot', 'passages', id], env)).stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(rows.length > 300, `${rows.length} passages`);
    for (const p of rows) assert.doesNotMatch(p.text, /\{\{|\}\}|\[\[|<ref|\|\}/, `clean text in ${p.id}`);

    const changing = questions.filter((q) => q.type === 'changing' && q.answers['2016'][0] !== q.answers['2018'][0]).slice(0, 5);
    assert.ok(changing.length > 0);
    let found = 0;
    for (const q of changing) {
      const hits = JSON.parse((await runRag(['search', '--snapshot', id, '--query', q.question, '--k', '5', '--json'], env)).stdout);
      if (hits.some((h: { text: string }) => h.text.includes(q.answers[year][0]))) found++;
    }
    assert.ok(found >= 3, `${year}: answer in top-5 for ${found}/${changing.length} changing questions`);
  }
});
