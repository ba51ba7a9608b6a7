/**
 * FEVER label accuracy, the RAG paper's fact-verification metric (Table 2): the generator's text is read as one of
 * FEVER's three labels and compared with the gold label. FEVER-3 is accuracy over all items; FEVER-2 keeps only
 * the items whose gold is SUPPORTS or REFUTES (the paper's 2-way setting drops NOT ENOUGH INFO claims), and a
 * NOT ENOUGH INFO or unreadable prediction there simply counts as wrong.
 */

export type FeverLabel = 'SUPPORTS' | 'REFUTES' | 'NOT ENOUGH INFO';

// Accepted spellings after normalisation (lowercase, punctuation/underscores/hyphens to spaces, spaces collapsed):
// the dataset's labels, their verb forms, and the short forms RAG-style classifiers emit as single tokens.
const ALIASES: ReadonlyMap<string, FeverLabel> = new Map([
  ...['supports', 'support', 'supported', 'sup'].map((a) => [a, 'SUPPORTS'] as const),
  ...['refutes', 'refute', 'refuted', 'ref'].map((a) => [a, 'REFUTES'] as const),
  ...['not enough info', 'not enough information', 'notenoughinfo', 'nei'].map((a) => [a, 'NOT ENOUGH INFO'] as const),
]);

function normalizeLabelText(text: string): string {
  return text.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim();
}

/**
 * The FEVER label a text names, or null when it names none. Matching is exact after normalisation, so "SUPPORTS.",
 * " refutes" and "Not_Enough_Info" are read, and free text ("the claim is true") is not guessed at.
 */
export function parseFeverLabel(text: string): FeverLabel | null {
  return ALIASES.get(normalizeLabelText(text)) ?? null;
}

export interface LabelAccuracy {
  correct: number;
  total: number;
  /** correct / total; null when there were no items. */
  accuracy: number | null;
}

export interface FeverAccuracy {
  /** FEVER-3: all items. */
  threeWay: LabelAccuracy;
  /** FEVER-2: items whose gold is SUPPORTS or REFUTES. */
  twoWay: LabelAccuracy;
  /** Predictions that named no label (counted wrong). */
  unreadable: number;
}

export interface FeverItem {
  /** The generated text. */
  prediction: string;
  /** The gold label, in any spelling parseFeverLabel reads. */
  gold: string;
}

function accuracy(correct: number, total: number): LabelAccuracy {
  return { correct, total, accuracy: total ? correct / total : null };
}

/** 3-way and 2-way label accuracy. A gold that names no label is an error (the data is wrong, not the model). */
export function feverAccuracy(items: Iterable<FeverItem>): FeverAccuracy {
  let n3 = 0, ok3 = 0, n2 = 0, ok2 = 0, unreadable = 0;
  for (const item of items) {
    const gold = parseFeverLabel(item.gold);
    if (gold === null) throw new RangeError(`not a FEVER label: ${JSON.stringify(item.gold)}`);
    const pred = parseFeverLabel(item.prediction);
    if (pred === null) unreadable++;
    const hit = pred === gold ? 1 : 0;
    n3++;
    ok3 += hit;
    if (gold !== 'NOT ENOUGH INFO') {
      n2++;
      ok2 += hit;
    }
  }
  return { threeWay: accuracy(ok3, n3), twoWay: accuracy(ok2, n2), unreadable };
}
