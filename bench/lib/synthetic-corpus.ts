// The benchmarks' large corpus: a DPR TSV of N 100-word passages cut at random offsets from the real
// enwiki sample's text, every tenth word replaced at random so passages are distinct; deterministic.
// Hard for approximate search on purpose: the passages are overlapping windows of the same 4,400
// passages of text, so every query has many near-ties.
import { createWriteStream, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readPassages } from '@rag/corpus';

/** Writes `work/corpus.tsv` (and `corpus.json` when complete) unless already there; returns its path. */
export async function writeSyntheticCorpus(work: string, passages: number, dump: string, log: (m: string) => void = () => {}): Promise<string> {
  const corpus = join(work, 'corpus.tsv');
  const done = join(work, 'corpus.json');
  if (existsSync(done)) return corpus;
  log(`writing a corpus of ${passages} passages`);
  const words: string[] = [];
  const titles: string[] = [];
  for await (const p of readPassages(dump)) for (const w of p.text.split(' ')) { words.push(w); titles.push(p.title); }
  let x = 20261203;
  const rnd = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const out = createWriteStream(corpus);
  out.write('id\ttext\ttitle\n');
  for (let i = 0; i < passages; i++) {
    const at = Math.floor(rnd() * (words.length - 100));
    const ws = words.slice(at, at + 100).map((w, j) => (j % 10 === 9 ? words[Math.floor(rnd() * words.length)]! : w));
    if (!out.write(`${i + 1}\t${ws.join(' ').replace(/[\t"]/g, ' ')}\t${titles[at]!.replace(/[\t"]/g, ' ')}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r) => out.end(() => r()));
  writeFileSync(done, JSON.stringify({ passages }));
  return corpus;
}
