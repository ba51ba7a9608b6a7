/**
 * SQuAD v1.1 answer scoring, as used for NQ-open by DPR and RAG: lowercase, drop ASCII punctuation, drop the
 * articles a/an/the as whole words, collapse whitespace; EM and token F1 take the best over the gold answers.
 */

// Python's string.punctuation: ASCII only, so "é" or "–" survive, exactly as in the official script.
const PUNCTUATION = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');
// Python 3's \b is Unicode-aware; JavaScript's is ASCII-only, so word edges are spelled out with Unicode classes.
const ARTICLES = /(?<![\p{L}\p{N}_])(?:a|an|the)(?![\p{L}\p{N}_])/gu;

export function normalizeAnswer(s: string): string {
  let out = '';
  for (const ch of s.toLowerCase()) if (!PUNCTUATION.has(ch)) out += ch;
  return out.replace(ARTICLES, ' ').split(/\s+/u).filter(Boolean).join(' ');
}

export function answerTokens(s: string): string[] {
  const n = normalizeAnswer(s);
  return n ? n.split(' ') : [];
}

/** 1 if the normalised prediction equals any normalised gold, else 0 (also 0 when there is no gold). */
export function exactMatch(pred: string, golds: readonly string[]): 0 | 1 {
  const p = normalizeAnswer(pred);
  return golds.some((g) => normalizeAnswer(g) === p) ? 1 : 0;
}

function tokenF1(pred: string[], gold: string[]): number {
  const counts = new Map<string, number>();
  for (const t of gold) counts.set(t, (counts.get(t) ?? 0) + 1);
  let same = 0;
  for (const t of pred) {
    const c = counts.get(t) ?? 0;
    if (c > 0) { same++; counts.set(t, c - 1); }
  }
  if (same === 0) return 0;
  const precision = same / pred.length;
  const recall = same / gold.length;
  return (2 * precision * recall) / (precision + recall);
}

/** Token-overlap F1 in [0, 1], best over the golds (0 when there is no gold). */
export function f1(pred: string, golds: readonly string[]): number {
  const p = answerTokens(pred);
  let best = 0;
  for (const g of golds) best = Math.max(best, tokenF1(p, answerTokens(g)));
  return best;
}
