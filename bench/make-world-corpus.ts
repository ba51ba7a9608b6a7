// A large JSONL corpus for scale benchmarks, from synthetic worlds: each seed's 2016 dump goes
// through the real MediaWiki reader (cleaning included) and its articles are written as
// {"id": "<seed>-<page id>", "title", "text"} lines. Prints a JSON summary.
//   node --import tsx bench/make-world-corpus.ts --seeds 5,6,7,8 --countries 3000 --out /tmp/world-240k.jsonl
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readWikiXml, splitPassages } from '@rag/corpus';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: o } = parseArgs({ options: { seeds: { type: 'string', default: '5,6,7,8' }, countries: { type: 'string', default: '3000' }, out: { type: 'string' } } });
if (!o.out) throw new Error('--out FILE.jsonl is required');
const out = createWriteStream(resolve(o.out));
const work = mkdtempSync(join(tmpdir(), 'rag-world-corpus-'));
let docs = 0;
let passages = 0;
const started = Date.now();
for (const seed of o.seeds!.split(',').map(Number)) {
  const dir = join(work, String(seed));
  const r = spawnSync(join(repo, 'rag'), ['world', 'generate', '--seed', String(seed), '--years', '2016', '--countries', o.countries!, '--questions', '10', '--out', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  for await (const d of readWikiXml(join(dir, '2016', 'world.xml.bz2'))) {
    docs++;
    passages += splitPassages(d).length;
    if (!out.write(JSON.stringify({ id: `${seed}-${d.pageId}`, title: d.title, text: d.text }) + '\n')) await new Promise<void>((res) => out.once('drain', () => res()));
  }
}
await new Promise<void>((res) => out.end(() => res()));
rmSync(work, { recursive: true, force: true });
process.stdout.write(JSON.stringify({ out: resolve(o.out), seeds: o.seeds, countries: Number(o.countries), docs, passages100: passages, ms: Date.now() - started }) + '\n');
