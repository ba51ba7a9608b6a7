// Seven nights unattended, through the CLI and a coordinator: night 1 a full build of a world dump, then
// incremental nights from `dev next-night`, one of them broken on purpose (most pages missing). Six are
// promoted, the broken one is held by the quality gate; the alias history shows all seven with their gate
// results; retention keeps the configured nights and gc frees the rest; storage grows with the change; and
// `--as-of` answers as the snapshot the alias served then. The seventh night is run by `rag coordinator
// --nightly` on its cron schedule (the BullMQ job scheduler spawning `rag nightly run`).
// test-tier: full
// test-lane: serial (seven builds and fourteen QA runs, two workers each)
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { collect, runRag, startRag, waitForOutput } from './helpers/run-rag.js';
import { tempDir } from './helpers/temp-dir.js';
import { hasWorldModels } from './helpers/world-snapshots.js';

const dir = tempDir('nightly');
after(() => dir.cleanup());
const env = { RAG_STORAGE: join(dir.path, 'storage'), RAG_HOME: join(dir.path, 'home') };
const dumps = join(dir.path, 'dumps');
const config = join(dir.path, 'nightly.json');
const KEEP = 3;

async function rag(args: string[], expect = 0): Promise<string> {
  const r = await runRag(args, env, { timeoutMs: 300_000 });
  assert.equal(r.code, expect, `./rag ${args.join(' ')} exited ${r.code}:\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-3000)}`);
  return r.stdout + r.stderr;
}

interface Night {
  night: string; snapshot: string; status: string; decision?: string; aliasVersion?: number;
  build?: { passages: number; reencoded: number; bytesNew?: number };
  diff?: { pages: { added: number; removed: number; changed: number } };
  gate?: { passed: boolean; summary: string; reasons: string[]; key?: string };
  changes?: { questions: number; changed: number; shown: { causes: unknown[] }[] };
  retention?: { kept: string[]; removed: string[]; gc?: { deleted: number; bytesFreed: number } };
  storageBytes?: number;
}
const readNight = (night: string): Night => JSON.parse(readFileSync(join(env.RAG_STORAGE, 'nightly/prod', night, 'night.json'), 'utf8')) as Night;

/** stdout alone (JSON), the command having succeeded. */
async function ragJson(args: string[]): Promise<unknown> {
  const r = await runRag(args, env, { timeoutMs: 120_000 });
  assert.equal(r.code, 0, `./rag ${args.join(' ')} exited ${r.code}:\n${r.stderr.slice(-3000)}`);
  return JSON.parse(r.stdout);
}

const searchJson = (args: string[]) => ragJson(['search', '--query', 'Who is the head of state of Lakvik?', '--k', '5', '--json', ...args]);

test('seven nights unattended: six promoted, the broken one held; history, retention, gc, storage growth and --as-of', { skip: !hasWorldModels && 'the trained world models are missing (npm run models)', timeout: 900_000 }, async () => {
  await rag(['world', 'generate', '--seed', '142', '--out', join(dir.path, 'world'), '--countries', '60', '--questions', '200', '--years', '2016']);
  mkdirSync(dumps);
  const today = new Date().toISOString().slice(0, 10).replace(/-/g, '');
  // Nights 1-6 on past days (run by hand, as cron would with --date), night 7 today (run by the coordinator).
  const nights = ['20261101', '20261102', '20261103', '20261104', '20261105', '20261106', today];
  const BROKEN = '20261105';
  const dump = (n: string) => join(dumps, `world-${n}.xml.bz2`);
  copyFileSync(join(dir.path, 'world/2016/world.xml.bz2'), dump(nights[0]!));
  let good = nights[0]!;
  for (const [i, n] of nights.entries()) {
    if (i === 0) continue;
    // A broken night: most pages missing. The nights after it continue from the last good dump.
    const edits = n === BROKEN ? ['--edit', '0.01', '--add', '0', '--remove', '0.8'] : ['--edit', '0.02', '--add', '0.01', '--remove', '0.01'];
    await rag(['dev', 'next-night', '--source', dump(good), '--out', dump(n), '--seed', String(i + 1), ...edits]);
    if (n !== BROKEN) good = n;
  }
  await rag(['nightly', 'init', '--out', config, '--alias', 'prod', '--snapshot-prefix', 'world', '--source', join(dumps, 'world-{yyyymmdd}.xml.bz2'),
    '--questions', join(dir.path, 'world/questions.jsonl'), '--year', '2016', '--keep-nights', String(KEEP), '--gc-grace-hours', '0', '--cron', '*/2 * * * * *']);
  const cfg = JSON.parse(readFileSync(config, 'utf8')) as { build: Record<string, unknown>; gate: { minQuestions: number } };
  cfg.build = { shardSize: 200 };
  writeFileSync(config, JSON.stringify(cfg, null, 2));

  const servedAt: { night: string; at: string; snapshot: string }[] = [];
  for (const n of nights.slice(0, 6)) {
    if (n === nights[1]) {
      // kill -9 of the whole night (CLI, its private Redis, its workers) while it builds: the re-run resumes.
      const victim = startRag(['nightly', 'run', '--config', config, '--date', '2026-11-02', '--no-progress'], env, { detached: true });
      const gone = collect(victim, 120_000);
      await waitForOutput(victim, /nightly: night 20261102 of prod/, 60_000);
      await new Promise((r) => setTimeout(r, 2500));
      process.kill(-victim.pid!, 'SIGKILL');
      await gone;
      assert.equal(readNight(n).status, 'running', 'killed mid-night');
    }
    const out = await rag(['nightly', 'run', '--config', config, '--date', `${n.slice(0, 4)}-${n.slice(4, 6)}-${n.slice(6)}`, '--no-progress'], n === BROKEN ? 3 : 0);
    const rec = readNight(n);
    assert.equal(rec.status, 'done', out);
    servedAt.push({ night: n, at: new Date().toISOString(), snapshot: (await rag(['alias', 'resolve', 'prod'])).trim() });
    // --as-of, night by night: right after each night, and right after the night before (history, not the pointer).
    const [now, before] = servedAt.slice(-1).concat(servedAt.slice(-2, -1));
    assert.deepEqual(await searchJson(['--snapshot', 'prod', '--as-of', now!.at]), await searchJson(['--snapshot', now!.snapshot]));
    if (before) assert.deepEqual(await searchJson(['--snapshot', 'prod', '--as-of', before.at]), await searchJson(['--snapshot', before.snapshot]), `as of night ${before.night}`);
  }
  // A re-run of a finished night does nothing twice.
  const again = await rag(['nightly', 'run', '--config', config, '--date', '2026-11-03', '--no-progress']);
  assert.match(again, /night 20261103 of prod is already done \(promoted\); nothing to do/);

  // Night 7: the coordinator runs it on its schedule (a tick every 2 s; later ticks find it done).
  const coord = startRag(['coordinator', '--port', '0', '--nightly', config], env);
  let printed = '';
  coord.stdout?.on('data', (d) => { printed += d; });
  const coordExit = collect(coord, 600_000);
  let metrics = '';
  try {
    await waitForOutput(coord, /metrics\s+http:\S+/, 60_000);
    const deadline = Date.now() + 300_000;
    while (Date.now() < deadline && !(existsSync(join(env.RAG_STORAGE, 'nightly/prod', today, 'night.json')) && readNight(today).status === 'done')) await new Promise((r) => setTimeout(r, 1000));
    await new Promise((r) => setTimeout(r, 11_000)); // the coordinator caches storage reads for 10 s
    metrics = await (await fetch(/metrics\s+(http:\S+)/.exec(printed)![1]!)).text();
  } finally {
    coord.kill('SIGTERM');
  }
  const c = await coordExit;
  assert.equal(readNight(today).status, 'done', `the coordinator ran night 7:\n${c.stdout.slice(-2000)}\n${c.stderr.slice(-4000)}`);
  // Its gauges describe the last finished night.
  assert.match(metrics, /rag_nightly_gate_passed\{[^}]*alias="prod"[^}]*\} 1/);
  assert.match(metrics, /rag_nightly_last_success_timestamp_seconds\{[^}]*alias="prod"[^}]*\} \d/);
  assert.match(metrics, new RegExp(`rag_nightly_passages_reencoded\\{[^}]*alias="prod"[^}]*\\} ${readNight(today).build!.reencoded}\\b`));
  servedAt.push({ night: today, at: new Date().toISOString(), snapshot: (await rag(['alias', 'resolve', 'prod'])).trim() });

  // Six promotions (the first night creates the alias) and one hold.
  const recs = nights.map(readNight);
  assert.deepEqual(recs.map((r) => r.decision), ['first', 'promoted', 'promoted', 'promoted', 'held', 'promoted', 'promoted']);
  const held = recs[4]!;
  assert.equal(held.gate?.passed, false);
  assert.match(held.gate!.reasons.join('\n'), /^hits@20 \d+\.\d -> \d+\.\d \(-\d+\.\d pts, limit -1, p<0\.001, n=\d+\): held: dropped more than 1 pts/m, 'the held night names the failed threshold with its numbers');
  assert.ok(readFileSync(join(env.RAG_STORAGE, 'nightly/prod', BROKEN, 'report.html'), 'utf8').includes('held: dropped more than 1 pts'), 'the HTML report too');
  for (const r of recs.slice(1)) {
    assert.ok(r.changes && r.changes.changed > 0 && r.changes.changed < r.changes.questions, `night ${r.night}: some canary answers changed (${r.changes?.changed})`);
    assert.ok(r.changes.shown.some((ch) => ch.causes.length > 0), `night ${r.night}: changed answers name the edits that caused them`);
  }
  // Night 6 was built on night 4 (the alias stayed there): the broken night left no trace in it.
  assert.equal(servedAt[5]!.snapshot, 'world-20261106');

  // The alias history: every night with its gate, the held one included.
  const hist = await ragJson(['alias', 'history', 'prod', '--json']) as { versions: { snapshot: string; by?: string; gate?: { summary: string } }[]; gates: { candidate: string; outcome: string; summary: string }[] };
  assert.deepEqual(hist.versions.map((v) => v.snapshot), nights.filter((n) => n !== BROKEN).map((n) => `world-${n}`));
  for (const v of hist.versions) assert.match(v.gate?.summary ?? '', /^(pass|first night)/);
  assert.ok(hist.versions.every((v) => v.by?.startsWith('nightly ')), 'who promoted each');
  assert.deepEqual(hist.gates.filter((g) => g.outcome === 'held').map((g) => g.candidate), [`world-${BROKEN}`]);
  const text = await rag(['alias', 'history', 'prod']);
  assert.match(text, new RegExp(`held world-${BROKEN} .* gate: hold: hits@20`));

  // Retention: the newest KEEP nights, plus the alias's previous version; everything older removed and collected.
  const published = (await ragJson(['snapshot', 'list', '--json']) as { id: string }[]).map((s) => s.id).sort();
  assert.deepEqual(published, [`world-${BROKEN}`, 'world-20261106', `world-${today}`], 'the newest 3 nights (the held one among them; the previous version is night 6)');
  assert.ok(recs.some((r) => (r.retention?.gc?.deleted ?? 0) > 0), 'gc freed the removed nights\' objects');
  assert.deepEqual(recs.flatMap((r) => r.retention?.removed ?? []).sort(), ['world-20261101', 'world-20261102', 'world-20261103', 'world-20261104']);

  // Storage grows with the change: a night that changed a few percent of the passages adds a few percent of the bytes.
  const full = recs[0]!.storageBytes!;
  for (const r of recs.slice(1)) {
    if (r.night === BROKEN) continue;
    const share = r.build!.reencoded / r.build!.passages;
    assert.ok(r.build!.bytesNew! < full * Math.max(0.2, 3 * share), `night ${r.night}: ${r.build!.bytesNew} new bytes for ${(share * 100).toFixed(1)}% re-encoded (full night: ${full})`);
  }
  assert.ok(recs[6]!.storageBytes! < full * 2, `after seven nights and retention the store holds ${recs[6]!.storageBytes} bytes (one full night: ${full})`);

  // --as-of for each of the seven nights: the snapshot the alias served right after it, when still kept;
  // a removed one is refused with what to do.
  for (const s of servedAt) {
    const kept = published.includes(s.snapshot);
    if (kept) assert.deepEqual(await searchJson(['--snapshot', 'prod', '--as-of', s.at]), await searchJson(['--snapshot', s.snapshot]), `as of night ${s.night}`);
    else {
      const r = await runRag(['search', '--snapshot', 'prod', '--as-of', s.at, '--query', 'x'], env);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`alias prod served ${s.snapshot} at .* but ${s.snapshot} has been removed since`));
    }
  }

  assert.match(c.stdout, /nightly\s+prod on cron/);
  // --as-of on the other commands: qa run, explain and ab answer on the snapshot prod served after night 6.
  const n6 = servedAt[5]!;
  const qa = await ragJson(['qa', 'run', '--questions', join(dir.path, 'world/questions.jsonl'), '--year', '2016', '--snapshot', 'prod', '--as-of', n6.at, '--mode', 'retrieve-only', '--limit', '20', '--json', '--no-progress']) as { snapshots: Record<string, number> };
  assert.deepEqual(qa.snapshots, { 'world-20261106': 20 });
  const ex = await ragJson(['explain', '--snapshot', 'prod', '--as-of', n6.at, '--question', 'Who is the head of state of Lakvik?', '--k', '3', '--beams', '1', '--no-png', '--html', join(dir.path, 'explain.html'), '--json']) as { snapshot: string };
  assert.equal(ex.snapshot, 'world-20261106');
  const ab = await ragJson(['ab', '--questions', join(dir.path, 'world/questions.jsonl'), '--a', 'prod', '--b', 'prod', '--as-of-a', n6.at, '--year-a', '2016', '--year-b', '2016',
    '--limit', '8', '--k', '3', '--beams', '1', '--out', join(dir.path, 'ab.html'), '--json', '--no-progress']) as { a: { snapshot: string; target: string }; b: { snapshot: string } };
  assert.deepEqual([ab.a.snapshot, ab.a.target, ab.b.snapshot], ['world-20261106', `prod@${n6.at}`, `world-${today}`]);

  // `rag promote` by hand: the broken night again, against what prod serves now; held, exit 3, one line why.
  const promote = await runRag(['promote', '--candidate', `world-${BROKEN}`, '--alias', 'prod', '--questions', join(dir.path, 'world/questions.jsonl'), '--year', '2016', '--no-progress'], env, { timeoutMs: 300_000 });
  assert.equal(promote.code, 3, promote.stderr);
  assert.match(promote.stderr, new RegExp(`^rag: world-${BROKEN} held by the quality gate: hits@20 .* held: dropped more than 1 pts`, 'm'));
  assert.equal((await rag(['alias', 'resolve', 'prod'])).trim(), `world-${today}`);

  const history = await rag(['nightly', 'history', '--config', config]);
  assert.match(history, new RegExp(`${BROKEN}\\s+world-${BROKEN}\\s+held`));
});
