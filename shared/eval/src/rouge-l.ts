/**
 * ROUGE-L, the RAG paper's second MS-MARCO NLG metric, as Google's rouge-score package computes it
 * (RougeScorer(['rougeL']), default tokenizer, no stemming):
 *
 *   P = LCS / |prediction|,  R = LCS / |reference|,  F = 2PR / (P + R)
 *
 * where LCS is the length of the longest common subsequence of the two token lists (in order, not necessarily
 * adjacent), so it rewards the right words in the right order without demanding contiguous n-grams. Several
 * references: the one with the highest F counts (the first on a tie), as rouge-score's score_multi does. Porter
 * stemming (use_stemmer=True) is not implemented. Checked against rouge-score in rouge-l.test.ts.
 */

/**
 * rouge-score's default tokenizer: lowercase, every run of characters other than a-z and 0-9 becomes a separator.
 * Accented letters therefore split words ("café" -> "caf"), as in the original ROUGE-1.5.5 Perl script.
 */
export function rougeTokenize(text: string): string[] {
  return text.toLowerCase().match(/[a-z0-9]+/g) ?? [];
}

/** Length of the longest common subsequence: the classic dynamic programme, two rows of memory. */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  let prev = new Array<number>(b.length + 1).fill(0);
  let row = new Array<number>(b.length + 1).fill(0);
  for (const x of a) {
    for (let j = 1; j <= b.length; j++) {
      row[j] = x === b[j - 1] ? prev[j - 1]! + 1 : Math.max(prev[j]!, row[j - 1]!);
    }
    [prev, row] = [row, prev];
  }
  return prev[b.length]!;
}

export interface RougeLScore {
  precision: number;
  recall: number;
  fmeasure: number;
}

/** ROUGE-L of a prediction against one reference; all zeros when either has no tokens. */
export function rougeLPair(prediction: string, reference: string): RougeLScore {
  const p = rougeTokenize(prediction), r = rougeTokenize(reference);
  if (p.length === 0 || r.length === 0) return { precision: 0, recall: 0, fmeasure: 0 };
  const lcs = lcsLength(r, p);
  const precision = lcs / p.length, recall = lcs / r.length;
  const fmeasure = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { precision, recall, fmeasure };
}

/** ROUGE-L against several references: the scores of the reference with the highest F (the first on a tie). */
export function rougeL(prediction: string, references: readonly string[]): RougeLScore {
  if (references.length === 0) throw new RangeError('ROUGE-L needs at least one reference');
  let best: RougeLScore | undefined;
  for (const ref of references) {
    const s = rougeLPair(prediction, ref);
    if (!best || s.fmeasure > best.fmeasure) best = s;
  }
  return best!;
}

export interface RougeItem {
  prediction: string;
  references: readonly string[];
}

/** Mean ROUGE-L F over the items (how MS-MARCO NLG results are reported); null for no items. */
export function meanRougeL(items: Iterable<RougeItem>): number | null {
  let n = 0, sum = 0;
  for (const item of items) {
    sum += rougeL(item.prediction, item.references).fmeasure;
    n++;
  }
  return n ? sum / n : null;
}
