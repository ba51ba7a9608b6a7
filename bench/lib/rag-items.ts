import { existsSync, readFileSync } from 'node:fs';
import type { RagItem } from '@rag/rag';
import { loadWikiPassages, type BenchPassage } from './wiki-passages.js';

/**
 * The first n NQ-open questions, each with k real enwiki passages as its retrieved documents (fixed,
 * decreasing scores), so that generation benchmarks decode realistic context lengths without an index.
 * Without the dump, placeholder passages of the same length.
 */
export async function loadRagItems(o: { nq: string; dump: string; n: number; k: number }): Promise<RagItem[]> {
  const questions = readFileSync(o.nq, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .slice(0, o.n)
    .map((l) => (JSON.parse(l) as { question: string }).question);
  const passages: BenchPassage[] = existsSync(o.dump)
    ? await loadWikiPassages(o.dump, o.n * o.k)
    : Array.from({ length: o.n * o.k }, (_, i) => ({ title: `Passage ${i}`, text: 'lorem ipsum '.repeat(50).trim() }));
  return questions.map((question, q) => ({
    question,
    docs: Array.from({ length: o.k }, (_, j) => {
      const p = passages[(q * o.k + j) % passages.length]!;
      return { id: `p${q}-${j}`, title: p.title, text: p.text, score: 80 - 1.5 * j };
    }),
  }));
}
